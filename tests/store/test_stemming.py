"""The one stemmer holder: one stemmer per thread, and the same stems from many threads at once as from one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from rag.text import content_words
from store.lexical import terms_of
from store.stemming import stem, stemmer

WORDS = ("running calibrated calibration models modelling sycophantic sycophancy rewards rewarded hacking "
         "deceptively deception preserving preservation").split() * 50


def test_each_thread_has_its_own_stemmer():
    seen: dict[int, int] = {}
    barrier = threading.Barrier(4)

    def grab(_):
        barrier.wait()  # all four threads alive at once, so none can reuse another's thread-local
        seen[threading.get_ident()] = id(stemmer())
        return stemmer() is stemmer()

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(grab, range(4)))
    assert len(set(seen.values())) == 4


def test_stems_agree_under_threads():
    serial = [stem(w) for w in WORDS]
    assert serial[:2] == ["run", "calibr"]
    with ThreadPoolExecutor(8) as pool:
        for result in pool.map(lambda _: [stem(w) for w in WORDS], range(16)):
            assert result == serial


def test_lexical_terms_and_content_words_use_the_same_stems():
    text = "Models rewarded for sycophancy generalise to reward tampering"
    lexical = set(terms_of([text])[0])
    assert {"model", "reward", "sycoph", "tamper"} <= lexical
    assert {"model", "reward", "sycoph", "tamper"} <= content_words(text)
    with ThreadPoolExecutor(4) as pool:
        assert all(set(t[0]) == lexical for t in pool.map(lambda _: terms_of([text]), range(12)))
