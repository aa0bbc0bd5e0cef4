"""Whether two statements disagree on the same thing: the rule shared by the premise check (does a note
contradict what the question takes for granted?) and the verifier (does a sentence reverse the evidence it
cites?).

No NLI model can be had offline here, so this reads *polarity*: for each specific word two statements share
(the *target*: "backdoor", "calibrated", "hacking"), whether each statement says it holds, grows or persists
(+1) or fails, shrinks or goes away (-1). A statement's sign on a target comes from the nearest cue word:

* direction words: up ("more", "better", "increased", "outperform") +1, down ("less", "worse", "fell",
  "flat", "overconfident") -1;
* ending words before the target ("removes the backdoor", "put an end to hacking") -1, persisting words
  ("kept hacking", "the backdoor survived", "still worked", "hiding the trigger") +1;
* "instead of" / "rather than" before the target -1;
* a negation ("not", "no", "never", "failed to", "n't") before the cue, or right before the target, flips it;
* with no cue the statement simply asserts the target: +1.

Two statements *oppose* on a target when their signs differ and at least one sign came from a cue. Targets
are content words specific enough to carry the claim: function words and the field's generic words ("model",
"study", "result") never count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rag.text import STOPWORDS
from store.stemming import stem

# cue classes: exact words, and prefixes (stems) for the words that inflect
_UP_WORDS = {"more", "higher", "greater", "better", "stronger", "larger", "bigger", "well", "rose", "risen",
             "grew", "beat", "beats", "beaten", "up"}
_UP = ("increas", "improv", "rais", "rise", "rising", "boost", "enhanc", "gain", "grow", "outperform", "surpass",
       "exceed", "amplif", "strengthen")
_DOWN_WORDS = {"less", "fewer", "lower", "smaller", "worse", "weaker", "fell", "fall", "falls", "falling", "flat",
               "hurt", "hurts", "lost", "lose", "loses", "poorly", "down"}
_DOWN = ("decreas", "reduc", "declin", "drop", "degrad", "impair", "shrank", "shrink", "diminish", "overconfid",
         "miscalibr", "suppress", "weaken", "lessen", "worsen")
_ENDING_WORDS = {"end", "ends", "ended", "ending", "stop", "stops", "stopped", "stopping", "cure", "cured"}
_ENDING = ("remov", "eliminat", "prevent", "eras", "abolish", "eradicat", "undo")
_PERSIST_WORDS = {"still", "kept", "keep", "keeps", "intact", "hid", "hide", "hides", "hiding"}
_PERSIST = ("continu", "persist", "surviv", "remain", "conceal", "retain")
_NEG = {"not", "no", "never", "cannot", "without", "fail", "failed", "fails", "failing", "neither", "nor", "none",
        "nothing", "hardly", "barely"}
_CONTRAST = {("instead", "of"), ("rather", "than")}
# words of the field too common to carry a claim: sharing them says nothing
GENERIC = frozenset("""model models language llm llms ai system systems study studies result results paper
author authors finding findings found show shows showed shown evidence note notes work researcher researchers
training trained train use used using data task tasks way ways case cases time times one two three new also
example examples question questions answer answers""".split())
_FILLER = {"instead", "rather", "made", "make", "makes", "making", "even", "just", "much", "such", "than"}
WINDOW = 6  # content words: how far a cue reaches to the word it modifies (most cues sit within 1-4 of their word)
NEG_REACH = 2  # tokens: how far before a cue (or its target) a negation still flips it
_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_BOUNDARY = {"but", "while", "whereas", "although", "though", "yet", "however"}  # a cue does not reach across


def _cls(tok: str) -> int:
    """+1 up, -1 down, -2 ending, +2 persisting, 0 none."""
    if tok in _ENDING_WORDS or tok.startswith(_ENDING):
        return -2
    if tok in _PERSIST_WORDS or tok.startswith(_PERSIST):
        return 2
    if tok in _UP_WORDS or tok.startswith(_UP):
        return 1
    if tok in _DOWN_WORDS or tok.startswith(_DOWN):
        return -1
    return 0


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("n't", " not").replace("’t", " not"))


def _specific(tok: str) -> bool:
    """A word that can carry a claim: not a function word, a cue, a generic word of the field or an adverb."""
    return (len(tok) >= 4 and tok not in STOPWORDS and tok not in GENERIC and tok not in _NEG and not _cls(tok)
            and not tok.isdigit() and not (tok.endswith("ly") and len(tok) > 5) and tok not in _FILLER)


@dataclass(frozen=True)
class Polar:
    stem: str
    sign: int  # +1 holds / grows / persists; -1 fails / shrinks / goes away
    cued: bool  # the sign came from a cue or a negation, not by default
    word: str
    distance: float = 0.0  # content words between the word and its cue (0 when not cued or negated in place)


def polarity(text: str) -> list[Polar]:
    """The sign the text gives each specific word it contains (one entry per occurrence). Distances between a
    cue and its word count content words only ("accuracy on GSM8K, CommonSenseQA and HotpotQA stays flat": 5)."""
    toks = _tokens(text)
    # position of each token among the content tokens (function words do not add distance)
    pos, n = [], 0
    for t in toks:
        pos.append(n)
        n += t not in STOPWORDS
    out: list[Polar] = []
    for i, t in enumerate(toks):
        if not _specific(t):
            continue
        best = None  # (distance, class, index)
        for step in (-1, 1):
            j = i + step
            while 0 <= j < len(toks) and abs(pos[j] - pos[i]) <= WINDOW and toks[j] not in _BOUNDARY:
                c = _cls(toks[j])
                if c and not (c == -2 and j > i):  # an ending word acts on what follows it
                    d = abs(pos[j] - pos[i]) + (0.5 if j > i else 0)  # before the word wins a tie
                    if best is None or d < best[0]:
                        best = (d, c, j)
                    break
                j += step
        contrast = any((toks[k], toks[k + 1]) in _CONTRAST for k in range(max(0, i - 3), i - 1))
        sign, cued, dist = 1, False, 0.0
        if contrast:  # "instead of removing it", "rather than the backdoor"
            sign, cued = -1, True
        used_neg: set[int] = set()
        if best is not None and not contrast:
            c, j = best[1], best[2]
            sign = 1 if c in (1, 2) else -1
            negs = {k for k in range(max(0, j - NEG_REACH), j) if toks[k] in _NEG}
            if negs:  # "did not improve accuracy": the negation belongs to the cue
                sign, used_neg = -sign, negs
            cued, dist = True, best[0]
        if not contrast and any(toks[k] in _NEG and k not in used_neg for k in range(max(0, i - NEG_REACH), i)):
            sign, cued = (-sign if cued else -1), True
        out.append(Polar(stem(t), sign, cued, t, dist))
    return out


def _same(a: str, b: str) -> bool:
    """Stems of one word: equal, or one a prefix of the other ("agre" / "agreement"), at four letters or more."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 4 and long_.startswith(short)


@dataclass(frozen=True)
class Opposition:
    word: str  # the claim's word on which the other text says the opposite
    both_cued: bool  # both signs came from cues (the strongest kind of disagreement)
    shared: int  # specific words the two texts share
    distance: float = 0.0  # how far the cues sit from the word, on both sides together (closer is surer)


def opposition(claim: str, other: str, min_shared: int = 1, claim_cued: bool = False) -> Opposition | None:
    """How ``other`` says the opposite of ``claim``, or None. They must share at least ``min_shared`` specific
    words (so they are about the same thing); with ``claim_cued`` the claim's own sign on the word must come
    from a cue (it says something *about* the word, not merely mentions it) — or the other text must negate
    that very word in place: "weak supervisors *recover* the capability" against "the capability was *not
    recovered*" (the claim asserts the verb; the note denies it)."""
    pc, po = polarity(claim), polarity(other)
    shared = {a.stem for a in pc if any(_same(a.stem, b.stem) for b in po)}
    if len(shared) < min_shared:
        return None

    toks = _tokens(other)

    def denied_in_place(a: Polar, b: Polar) -> bool:  # "was not recovered", "were never removed"
        if not (b.cued and b.sign < 0 and a.word != b.word and _verb_form(b.word)):
            return False
        return any(t == b.word and any(x in _NEG for x in toks[max(0, i - NEG_REACH):i]) for i, t in enumerate(toks))

    hits = [(a, b) for a in pc if a.stem in shared for b in po
            if _same(a.stem, b.stem) and a.sign != b.sign and (a.cued or b.cued)
            and (a.cued or not claim_cued or denied_in_place(a, b))]
    if not hits:
        return None
    a, b = max(hits, key=lambda ab: (ab[0].cued + ab[1].cued, -(ab[0].distance + ab[1].distance)))
    return Opposition(a.word, a.cued and b.cued, len(shared), a.distance + b.distance)


def _verb_form(word: str) -> bool:
    """A participle or past form ("recovered", "removed"): a negated verb, not a negated noun ("no backdoor")."""
    return word.endswith("ed") and len(word) > 4


def opposed(claim: str, other: str, min_shared: int = 1) -> str | None:
    """The word on which ``other`` says the opposite of ``claim``, or None (see ``opposition``)."""
    o = opposition(claim, other, min_shared)
    return o.word if o else None


def _specific_stems(text: str) -> set[str]:
    """Stems of a text's specific words, and of the parts of its hyphenated ones: "alignment-faking" says
    "alignment" and "faking", as "fake alignment" does."""
    out: set[str] = set()
    for t in _tokens(text):
        if _specific(t):
            out.add(stem(t))
            out |= {stem(p) for p in t.split("-") if p != t and _specific(p)}
    return out


def shared_specific(a: str, b: str) -> set[str]:
    sa, sb = _specific_stems(a), _specific_stems(b)
    return {x for x in sa if any(_same(x, y) for y in sb)}


def any_opposed(claim: str, others: Iterable[str], min_shared: int = 1) -> tuple[str, str] | None:
    """(the opposing text, the word) for the first of ``others`` that opposes ``claim``."""
    for o in others:
        w = opposed(claim, o, min_shared)
        if w:
            return o, w
    return None
