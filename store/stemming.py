"""The one holder of the Snowball stemmer that the lexical index and the text helpers share.

PyStemmer's ``Stemmer`` objects keep state between calls and are not safe to use from two threads at
once, so each thread gets its own (creating one costs microseconds)."""

from __future__ import annotations

import threading

_local = threading.local()


def stemmer():
    """This thread's English Snowball stemmer."""
    st = getattr(_local, "stemmer", None)
    if st is None:
        import Stemmer

        st = _local.stemmer = Stemmer.Stemmer("english")
    return st


def stem(word: str) -> str:
    return stemmer().stemWord(word)
