"""Text helpers shared by retrieval, evidence selection, verification and next lines: the stopword list,
content words (stemmed, numbers normalised) and the numbers among them.

The stemmer comes from ``store.stemming`` (the lexical index uses the same one, so a word means the same
term to BM25 and to these helpers)."""

from __future__ import annotations

import re

from store.stemming import stem

WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
# a [[link]] as the engine renders it (rag.evidence): the linked note's title, in curly quotes
LINKED_TITLE = re.compile(r"“[^”]{3,200}”")
DIGIT = re.compile(r"\d")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each either else even ever few for from further had has have
having he her here hers herself him himself his how however i if in into is it its itself just least less let like
many may me might more most much must my myself neither no nor not now of off often on once one only or other
others our ours ourselves out over own per quite rather same several shall she should since so some still such
than that the their theirs them themselves then there therefore these they this those though through thus to
too under until up upon us very via was we were what when where whether which while who whom whose why will with
within without would yet you your yours yourself yourselves
""".split())

_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS |= {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                  "ninety": "90", "hundred": "100", "thousand": "1000", "million": "1000000",
                  "billion": "1000000000", "twice": "2"}
_NUMBER_WORDS.pop("one")  # "one" is mostly a pronoun ("one finding", "one another"), not a count


def content_words(text: str) -> set[str]:
    """Stemmed content words of ``text`` (stopwords and one-letter words removed; numbers kept, number
    words up to twenty and the round ones written as digits, so "three" and "3" match)."""
    out = set()
    for w in WORD.findall(text.lower()):
        if w in STOPWORDS or (len(w) < 2 and not w.isdigit()):
            continue
        if w in _NUMBER_WORDS:
            out.add(_NUMBER_WORDS[w])
        else:
            out.add(w if DIGIT.search(w) else stem(w))
    return out


def numbers(words: set[str]) -> set[str]:
    return {w for w in words if w[:1].isdigit()}


def as_written(phrase: str, texts: list[str]) -> str:
    """``phrase`` in the casing the texts use for it most ("rlhf" → "RLHF" when the notes write "RLHF"); a tag
    is stored lower-cased, but a framing or a next line should print an acronym or a name as the notes do.
    Lower case wins a tie. A phrase of several words the texts never use is re-cased word by word ("llm judges"
    → "LLM judges"); a word they never use is returned as it is, except a short one with no vowel, which is an
    acronym ("rlhf" → "RLHF")."""
    if not phrase or not phrase.islower():
        return phrase
    counts: dict[str, int] = {}
    pat = re.compile(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", re.I)
    for t in texts:
        for m in pat.finditer(t or ""):
            counts[m.group(0)] = counts.get(m.group(0), 0) + 1
    if not counts and " " in phrase:  # "llm judges", the notes writing "LLM evaluators": each word as written
        return " ".join(as_written(w, texts) for w in phrase.split(" "))
    if not counts:  # an acronym tag the notes spell out ("rlhf"): no vowel, so no word
        return phrase.upper() if len(phrase) <= 5 and not re.search(r"[aeiouy]", phrase) else phrase
    best = max(counts.items(), key=lambda kv: (kv[1], kv[0].islower()))[0]
    # only an acronym or a name is re-cased, never a sentence-initial capital ("Sycophancy is …")
    return best if best.isupper() or best[1:] != best[1:].lower() else phrase
