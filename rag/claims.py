"""Rules that read what a sentence *claims* against the evidence it rests on, for the LLM verifier
(``rag.verify``): an overclaim (a quantifier or hedge made stronger than the evidence's), a reversal (the
evidence says the opposite on the same word), and the facts a connecting sentence adds (names and figures
that neither the evidence nor the answer's findings contain).

No NLI model can be had offline here, so these are narrow rules over words, calibrated on hand-written
capable-model replies (``eval/sets/llm_replies``) and on perturbations of the notes' own sentences
(``eval.verify_calibration``). They catch the common forms, not every error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rag.contradiction import Polar, _same, polarity
from rag.evidence import split_sentences
from rag.text import STOPWORDS, content_words, numbers

_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")

# ------------------------------------------------------------------------------------------- overclaims
# Strength classes of quantifiers and hedges. A claim that uses a word of a class the evidence never uses
# (at that strength or above) says more than the evidence does: "some of 25 models" -> "all models",
# "suggests" -> "proves", "in one study" -> "consistently", "could" -> "will".
UNIVERSAL = frozenset("""all every everything everyone everybody always never none entirely completely totally wholly
purely solely invariably universally consistently indefinitely forever""".split())
CERTAIN = frozenset("""prove proves proved proven proof guarantee guarantees guaranteed certain certainly definitely
undoubtedly conclusively conclusive inevitable inevitably impossible""".split())
UNIQUE = frozenset("single sole".split())  # only after "the" ("the single strongest"; "single answers" is no claim)
MAJORITY = frozenset("most mostly majority usually generally largely".split())
# phrases that carry a class (checked on the lower-cased text before words)
_PHRASES = ((re.compile(r"\brule[sd]? out\b|\bruling out\b"), "certain"),
            (re.compile(r"\bwithout exception\b|\bacross the board\b|\bin every\b"), "universal"),
            (re.compile(r"\bthe one\b(?! of)"), "unique"))
# "will" is a prediction stated as certain unless a hedge follows it ("will tend to", "will likely")
_WILL = re.compile(r"\bwill (?!(?:\w+ )?(?:tend|likely|probably|often|usually|generally|typically|sometimes|"
                   r"rarely|seldom|perhaps|possibly|not necessarily)\b)")
_SOFTENERS = {"almost", "nearly", "near", "not", "cannot", "virtually", "practically", "if", "roughly", "approximately"}
# what each class may be backed by in the evidence (a stronger word backs a weaker one)
_BACKED_BY = {"universal": {"universal"}, "certain": {"certain"}, "unique": {"unique", "universal"},
              "majority": {"majority", "universal"}, "will": {"will", "certain"}}


def _class(tok: str) -> str | None:
    if tok in UNIVERSAL:
        return "universal"
    if tok in CERTAIN:
        return "certain"
    if tok in UNIQUE:
        return "unique"
    if tok in MAJORITY:
        return "majority"
    return None


def strengths(text: str) -> dict[str, str]:
    """The strength classes ``text`` uses, each with the first word that carries it ("universal": "every")."""
    low = " ".join(text.lower().replace("’", "'").split())
    toks = _TOKEN.findall(low)
    out: dict[str, str] = {}
    for i, t in enumerate(toks):
        c = _class(t)
        if c is None:
            continue
        prev = toks[max(0, i - 2):i]
        if c == "unique" and (i == 0 or toks[i - 1] != "the"):
            continue
        if any(p in _SOFTENERS for p in prev):  # "almost never", "not all", "nearly every"
            continue
        if c == "certain" and any(p in ("no", "without", "nor") for p in prev):
            continue  # "no guarantee", "without proof": the certainty is denied, not claimed
        if t == "all" and i > 0 and toks[i - 1] == "at":
            continue  # "no gap at all": an intensifier
        if t == "all" and toks[i + 1:i + 3] and toks[i + 1] == "of" and toks[i + 2:i + 3] and toks[i + 2] in _PRONOUNS:
            continue  # "all of them": the items just named, not a population
        if t == "all" and (i + 1 < len(toks) and (toks[i + 1].endswith("ed") or toks[i + 1] in _VERBS
                                                  or toks[i + 1] in _COUNTS or toks[i + 1].isdigit())):
            continue  # "X, Y and Z all left ...": a distributive pronoun over the items named, not a population
        out.setdefault(c, t)
    for rx, c in _PHRASES:
        m = rx.search(low)
        if m:
            out.setdefault(c, m.group(0))
    m = _WILL.search(low)
    if m:
        out.setdefault("will", "will")
    return out


_PRONOUNS = frozenset("them these those they us".split())
_COUNTS = frozenset("two three four five six seven eight nine ten eleven twelve twenty both".split())
_VERBS = frozenset("""left were are had have did do showed show made make fell rose kept gave got came went ran
point agree pointed agreed failed fail found find say said""".split())


ALIGNED = 3  # evidence sentences (most content words shared with the claim) whose strength may back it


def overclaim(claim: str, evidence: Sequence[str], aligned: int = ALIGNED) -> str | None:
    """The word with which ``claim`` states more than its evidence does (a universal, a certainty, a
    uniqueness or a majority that none of the ``aligned`` evidence sentences closest to it in content words
    states at that strength or above), or None. The strength must come from the sentences the claim restates:
    "every model" is not backed by "every run" said of something else in the same note."""
    mine = strengths(claim)
    if not mine:
        return None
    sents = [s for t in evidence for s in (split_sentences(t) or [t])]
    words = content_words(claim)
    sents.sort(key=lambda s: -len(words & content_words(s)))
    theirs: set[str] = set()
    for t in sents[:aligned]:
        theirs |= set(strengths(t))
    for c, word in mine.items():
        if not (_BACKED_BY[c] & theirs):
            return word
    return None


# --------------------------------------------------------------------------------------------- reversals
# Words and phrases that state a polarity the shared rule (rag.contradiction) reads only from its own cue
# list: weak negators ("poor at locating" says the model does not locate) and phrasal verbs of ending or
# persisting ("trained the backdoor out", "left the misalignment in place"). Applied to both texts before
# their polarity is read.
_NORMAL = [(re.compile(p), r) for p, r in (
    (r"\b(?:poor(?:ly)?|bad) at\b", "not"),
    (r"\b(?:unable|struggled?|struggles|struggling) to\b", "not"),
    (r"\b(?:rarely|seldom|hardly ever)\b", "not"),
    (r"\bdid little\b", "did not"),
    (r"\bwithout\b", "not"),
    (r"\btrain(?:ed|s|ing)? ((?:\w+ ){0,4}?)(?:out|away)\b", r"removed \1"),
    (r"\b(?:left|leaves|leave|leaving) ((?:\w+ ){0,3}?)(?:in place|intact|untouched)\b", r"kept \1"),
)]
_UP = ("more", "higher", "greater", "better", "stronger", "larger", "increas", "improv", "rais", "rise", "rose",
       "boost", "enhanc", "gain", "grew", "grow")
_DOWN = ("less", "fewer", "lower", "smaller", "worse", "weaker", "decreas", "reduc", "declin", "drop", "fell",
         "fall", "degrad", "impair", "hurt", "shrank", "shrink", "diminish")
CUE_REACH = 1.0  # content words between a cue and its word for a polarity to count as stated (1: adjacent)


def _normal(text: str) -> str:
    t = text.lower().replace("’", "'")
    for rx, r in _NORMAL:
        t = rx.sub(r, t)
    return t


def _related(a: str, b: str) -> bool:
    return _same(a, b) or (min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)))


def _direction(tok: str) -> int:
    if tok.startswith(_UP):
        return 1
    if tok.startswith(_DOWN):
        return -1
    return 0


def _directions(text: str) -> dict[str, int]:
    """Per stem: the direction word next to it (the word just before the cue, or the first content word
    in the three after it: "complied less", "less well calibrated")."""
    from store.stemming import stem

    toks = _TOKEN.findall(text)

    def content(w: str) -> bool:
        return len(w) >= 3 and w not in STOPWORDS and not _direction(w)

    out: dict[str, int] = {}
    for i, w in enumerate(toks):
        d = _direction(w)
        if not d:
            continue
        targets = [toks[i - 1]] if i > 0 and content(toks[i - 1]) else []
        targets += [t for t in toks[i + 1:i + 4] if content(t)][:1]
        for t in targets:
            out[stem(t)] = d
    return out


def reversal(claim: str, evidence: Sequence[str]) -> str | None:
    """The word on which ``claim`` says the opposite of its evidence, or None.

    A candidate is a word on which the claim and some evidence sentence put opposite direction words
    ("better calibrated" / "less calibrated"), or opposite polarities stated by an adjacent cue or negation
    (``rag.contradiction.polarity``: "no more likely to be wrong" / "more likely to be wrong"). It counts
    only if *no* evidence sentence agrees with the claim on that word: a paraphrase that restates one
    evidence sentence while another words it differently agrees with its evidence and is not dropped."""
    sents = [s for t in evidence for s in (split_sentences(t) or [t])]
    if not sents or not claim.strip():
        return None
    c_norm = _normal(claim)
    e_norm = [_normal(s) for s in sents]
    pc = polarity(c_norm)
    pe: list[Polar] = [b for s in e_norm for b in polarity(s)]
    cands: list[str] = []
    dc = _directions(c_norm)
    for s in e_norm:
        for st, d in _directions(s).items():
            if dc.get(st) == -d and st not in cands:
                cands.append(st)
    for a in pc:
        if a.cued and a.distance <= CUE_REACH and a.stem not in cands and any(
                _related(a.stem, b.stem) and b.cued and b.sign != a.sign and b.distance <= CUE_REACH for b in pe):
            cands.append(a.stem)
    for w in cands:
        mine = [a for a in pc if _related(a.stem, w)]
        theirs = [b for b in pe if any(_related(a.stem, b.stem) for a in mine)]
        if mine and theirs and any(a.sign == b.sign for a in mine for b in theirs):
            continue  # some evidence agrees with the claim on this word
        ctx = _cue_context(c_norm, w)
        negs = _NEG5 & ctx  # a negation the claim puts by the word must be the evidence's too, and no other
        if ctx and any(ctx <= _cue_context(s, w, reach=None) and negs == _NEG5 & _cue_context(s, w, reach=NEG_CONTEXT)
                       for s in e_norm):
            continue  # a sentence of the evidence about the word has the same cue words ("no longer resembles";
            # "reduced the behaviour without removing it" / "reduced but did not remove the behaviour")
        return w
    return None


CONTEXT_REACH = 2  # tokens either side of a word whose cue words are its context (for the agreement check)
NEG_CONTEXT = 3  # tokens either side of the word in the evidence within which a negation belongs to it
_NEG5 = frozenset(w[:5] for w in ("not", "no", "never", "cannot", "without", "fail", "failed", "neither", "nor",
                                  "none", "nothing"))


def _cue_context(text: str, word_stem: str, reach: int | None = CONTEXT_REACH) -> frozenset[str]:
    """The cue and negation words (first five letters) within ``reach`` tokens of ``word_stem`` (None: anywhere
    in a text that mentions it)."""
    from rag.contradiction import _NEG, _cls
    from store.stemming import stem

    toks = _TOKEN.findall(text)
    out: set[str] = set()
    for i, t in enumerate(toks):
        if not _related(stem(t), word_stem):
            continue
        r = len(toks) if reach is None else reach
        for j in range(max(0, i - r), min(len(toks), i + r + 1)):
            if j != i and (_cls(toks[j]) or toks[j] in _NEG or _direction(toks[j])):
                out.add(toks[j][:5])
    return frozenset(out)


# ----------------------------------------------------------------------------------- facts a sentence adds
# Count words that number the answer's own parts ("the two results", "both lines") are discourse, not facts.
_DISCOURSE = frozenset("""result results finding findings note notes study studies paper papers line lines case
cases way ways side sides piece pieces account accounts explanation explanations mechanism mechanisms reading
readings picture pictures kind kinds part parts effect effects pattern patterns strand strands point points
question questions approach approaches method methods view views claim claims example examples set sets thing
things empirical different separate failure failures""".split())
_NUMWORD = re.compile(r"\b(two|three|four|five|six|seven|eight|nine|ten|twice)\b\s+((?:\w+\s+){0,2})", re.I)
_NAME = re.compile(r"(?<![.!?:;]\s)(?<!^)\b([A-Z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*)")


def discourse_free(text: str) -> str:
    """``text`` without count words that number the answer's own parts ("the two results fit together")."""
    def repl(m: re.Match) -> str:
        follow = m.group(2).lower().split()
        return m.group(0) if not any(w in _DISCOURSE for w in follow) else m.group(2)
    return _NUMWORD.sub(repl, text)


def names(text: str) -> set[str]:
    """Capitalised words not at a sentence's start (names of models, labs, authors, benchmarks), lower-cased."""
    out = set()
    for m in _NAME.finditer(text):
        w = m.group(1)
        if len(w) >= 2 and w.lower() not in STOPWORDS:
            out.add(w.lower())
    return out


def new_facts(text: str, known: Iterable[str]) -> list[str]:
    """Names and figures in ``text`` that none of the ``known`` texts has (the evidence given and the
    answer's findings): what a connecting sentence must not add."""
    known = list(known)
    known_words: set[str] = set()
    known_names: set[str] = set()
    for k in known:
        known_words |= content_words(k)
        known_names |= {w.lower() for w in _TOKEN.findall(k.lower())}
    out = sorted(numbers(content_words(discourse_free(text))) - known_words)
    out += sorted(n for n in names(text) if n not in known_names and not any(
        _related(n, k) for k in known_names if len(n) >= 5))
    return out
