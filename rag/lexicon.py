"""Parts of speech of English words, from lemminflect's lexicon (bundled in its wheel: no tagger model, no
download; about 0.5 s to load, once, on first use). The coverage check asks whether a word can be a noun; next
lines whether a word after its subject is a verb."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["pos", "base_verb"]


@lru_cache(maxsize=1)
def _lemmas():
    from lemminflect import getAllLemmas

    return getAllLemmas


@lru_cache(maxsize=4096)
def _entry(word: str) -> dict[str, tuple[str, ...]]:
    return dict(_lemmas()(word.lower()))


def pos(word: str) -> set[str]:
    """The parts of speech ``word`` can be ("NOUN", "VERB", "ADJ", "ADV", …); empty for a word the lexicon
    does not know (a name, slang, a typo)."""
    return set(_entry(word))


def base_verb(word: str) -> bool:
    """``word`` can be a verb in its base form ("fill", "limit"; not "fills", "filled")."""
    return word.lower() in _entry(word).get("VERB", ())
