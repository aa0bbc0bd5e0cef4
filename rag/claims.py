"""Rules that read what a sentence *claims* against the evidence it rests on, for the LLM verifier
(``rag.verify``): an overclaim (a quantifier or hedge made stronger than the evidence's), a reversal (the
evidence says the opposite on the same word), and the names and figures a sentence adds that its evidence lacks.

* Overclaims: strength classes (universal, negative universal, certain, unique, majority, "will"), read by scope (a
  universal denied inside a negation, or restricted by a partial quantifier, is none) and, for a quantifier over a
  population, by the noun it quantifies ("every model" is not backed by "models from every developer").
* Reversals: opposite direction words on a word ("rose" / "fell", "went down"), opposite states (persisting /
  ending: "the gap closed" / "a gap remained", "removed X" / "left X intact"), a level against a direction ("held
  its accuracy" / "accuracy dropped"), opposite outcomes ("helped" / "did not help"), and the shared polarity rule
  (``rag.contradiction``); vetoed when an evidence sentence about the same thing agrees.
* Added facts: figures (a name's version, "Claude 2", is no figure), names (an acronym the evidence spells out is
  known), and what a sentence attributes to a name ("X's preparedness team") that the evidence never mentions.

No NLI model can be had offline here, so these are narrow rules over words, written on hand-written capable-model
replies (``eval/sets/llm_replies``; the held-out replies there measure how far they carry) and on perturbations of
the notes' own sentences (``eval.verify_calibration``). They catch the common forms, not every error: a reversal
stated through a role swap ("fixed wrong answers more often than it broke right ones") or a predicate the lexicons
lack ("flagged the problem" / "looked positive") still passes.
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
purely solely invariably universally consistently reliably indefinitely forever whole entire fully""".split())
CERTAIN = frozenset("""prove proves proved proven proof guarantee guarantees guaranteed certain certainly definitely
undoubtedly conclusively conclusive inevitable inevitably impossible unavoidable unavoidably inescapable""".split())
UNIQUE = frozenset("single sole".split())  # only after "the" ("the single strongest"; "single answers" is no claim)
MAJORITY = frozenset("most mostly majority usually generally largely".split())
# phrases that carry a class (checked on the lower-cased text before words)
_PHRASES = ((re.compile(r"\brule[sd]? out\b|\bruling out\b"), "certain"),
            (re.compile(r"\bwithout exception\b|\bacross the board\b|\bin every\b"), "universal"),
            (re.compile(r"\bthe one\b(?! of)"), "unique"))
# "will" is a prediction stated as certain unless a hedge follows it ("will tend to", "will likely")
_WILL = re.compile(r"\bwill (?!(?:\w+ )?(?:tend|likely|probably|often|usually|generally|typically|sometimes|"
                   r"rarely|seldom|perhaps|possibly|not necessarily)\b)")
# "the size that will be deployed": a relative clause names a thing, it predicts nothing
_RELATIVE_WILL = re.compile(r"\b(that|which) will be (\w+ed)\b")
_SOFTENERS = {"almost", "nearly", "near", "not", "cannot", "virtually", "practically", "if", "roughly", "approximately",
              "close"}  # "close to nothing"
# a softened universal over a population ("nearly all of the policies", "almost every run") is still a majority claim
_NEAR = frozenset("almost nearly virtually practically".split())
_NEAR_ALL = frozenset("all every everyone everybody everything".split())
# an answer's opening hedge ("Largely yes: ...", "Mostly it is not a lack of ability"): weaker than the bare answer,
# not a claim about a population
_ANSWER_HEDGE = frozenset("mostly largely generally usually".split())
_HEDGED = frozenset("yes no not it this that so true".split())
ANSWER_HEAD_WORDS = 6  # words before the colon of an answer's opening ("Largely from the preference data:")
# what each class may be backed by in the evidence (a stronger word backs a weaker one)
_BACKED_BY = {"universal": {"universal"}, "universal-": {"universal-"}, "certain": {"certain"},
              "unique": {"unique", "universal"}, "majority": {"majority", "universal", "universal-"},
              "will": {"will", "certain"}}


NEGATIVE_UNIVERSAL = frozenset("never none nothing".split())  # "none" does not back "the whole gap", nor "every"
# back "never": a universal is backed only by one of its own sign


def _class(tok: str) -> str | None:
    if tok in NEGATIVE_UNIVERSAL:
        return "universal-"
    if tok in UNIVERSAL:
        return "universal"
    if tok in CERTAIN:
        return "certain"
    if tok in UNIQUE:
        return "unique"
    if tok in MAJORITY:
        return "majority"
    return None


# A universal adverb inside a negation's clause is denied, not claimed ("none of the protocols consistently beat
# X" says no protocol always won: neither "none" nor "consistently" is a universal there); one after a partial
# quantifier in its clause is restricted to that part ("much of what matters is never written").
_NEGATORS = frozenset("not no none never nothing neither nor cannot without fail fails failed".split())
_FREQUENCY = frozenset("always consistently reliably entirely completely totally wholly invariably universally "
                       "forever indefinitely".split())
_PARTIAL = frozenset("some many much several few part minority share portion".split())
# quantifiers over a population, whose head (the noun they quantify) must be the one the evidence quantifies:
# "models from every developer" does not back "every model"
_DETERMINERS = frozenset("all every most majority whole entire full".split())
_HEAD_SKIP = frozenset("of the these those its their his her our such single".split())
_SEPARATOR = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[.,;:!?()]")
_CLAUSE_WORDS = frozenset("but while whereas although though yet however".split())


HEAD_WORDS = 2  # words of the noun phrase a population quantifier is about ("most of its reward hacks": reward, hack)


def strength_items(text: str, backing: bool = False) -> list[tuple[str, str, frozenset[str] | None]]:
    """(class, word, head) for each strength word ``text`` uses: "every model" -> ("universal", "every", {"model"});
    the head (the stems of the noun phrase a population quantifier is about) is None for adverbs, modals and
    phrases. With ``backing`` (the text is evidence a claim may rest on), a denied universal ("none of them
    consistently") is read as a majority: it backs "generally not", never "never". In a claim it states nothing
    ("not always" is a hedge, not a majority)."""
    from store.stemming import stem

    low = " ".join(text.lower().replace("’", "'").split())
    toks, clause = [], []
    n = 0
    for t in _SEPARATOR.findall(low):
        if not t[0].isalnum() or t in _CLAUSE_WORDS:
            n += 1
            if not t[0].isalnum():
                continue
        toks.append(t)
        clause.append(n)
    # an answer's short head before its colon ("Largely from the preference data:", "Often it will not:")
    head, colon, rest = low.partition(":")
    answer_head = bool(colon) and len(head.split()) <= ANSWER_HEAD_WORDS
    skip: set[int] = set()
    denied: list[str] = []
    for i, t in enumerate(toks):
        before = [k for k in range(i) if clause[k] == clause[i]]
        if t in _FREQUENCY and any(toks[k] in _NEGATORS for k in before):
            skip.add(i)
            skip |= {k for k in before if toks[k] in _NEGATORS}
            denied.append(t)  # "not consistently": more often not than so, at most a majority
        if t in _FREQUENCY | {"never"} and any(toks[k] in _PARTIAL for k in before):
            skip.add(i)
    out: list[tuple[str, str, frozenset[str] | None]] = []
    for i, t in enumerate(toks):
        c = _class(t)
        if c is None or i in skip:
            continue
        prev = toks[max(0, i - 2):i]
        if c == "unique" and (i == 0 or toks[i - 1] != "the"):
            continue
        if c == "universal" and t in _NEAR_ALL and prev and prev[-1] in _NEAR:
            c = "majority"  # "nearly all of the exploiting policies": said of most of them at least
        elif any(p in _SOFTENERS for p in prev):  # "almost never", "not all"
            continue
        if c == "majority" and i == 0 and t in _ANSWER_HEDGE and (toks[1:2] and toks[1] in _HEDGED or answer_head):
            continue  # "Largely yes: ...", "Largely from the preference data: ...": a hedged answer
        if c == "certain" and any(p in ("no", "without", "nor") for p in prev):
            continue  # "no guarantee", "without proof": the certainty is denied, not claimed
        if t == "all" and i > 0 and toks[i - 1] == "at":
            continue  # "no gap at all": an intensifier
        if t == "most" and i > 0 and (toks[i - 1] in _DEGREE_BEFORE or toks[i + 1:i + 2] == ["likely"]):
            continue  # "the most direct fix", "would most want": a superlative or a degree, not a population
        if t == "nothing" and i > 0 and toks[i - 1] in ("from", "of"):
            continue  # "did not start from nothing": an idiom
        if t == "all" and toks[i + 1:i + 3] and toks[i + 1] == "of" and toks[i + 2:i + 3] and toks[i + 2] in _PRONOUNS:
            continue  # "all of them": the items just named, not a population
        if t == "all" and (i + 1 < len(toks) and (toks[i + 1].endswith("ed") or toks[i + 1] in _VERBS
                                                  or toks[i + 1] in _COUNTS or toks[i + 1].isdigit())):
            if backing and not (toks[i + 1] in _COUNTS or toks[i + 1].isdigit()):  # "which all pointed the same
                # way", as evidence, backs "every one of them" in a sentence about them ("all 16 models" quantifies)
                out.append((c, t, None))
            continue  # "X, Y and Z all left ...": a distributive pronoun over the items named, not a population
        head: frozenset[str] | None = None
        if t in _DETERMINERS:  # the noun phrase after it, up to HEAD_WORDS words ("most of its reward hacks")
            words: list[str] = []
            for k in range(i + 1, min(len(toks), i + 3 + HEAD_WORDS)):
                if clause[k] != clause[i] or len(words) >= HEAD_WORDS:
                    break
                if toks[k] in _HEAD_SKIP and not words:
                    continue
                if toks[k] in STOPWORDS or toks[k].endswith("ly") or toks[k] in _VERBS:
                    break
                words.append(stem(toks[k]))
            head = frozenset(words) or None
        out.append((c, t, head))
    if backing:
        out += [("majority", f"not {w}", None) for w in denied]
    have = {c for c, _, _ in out}
    for rx, c in _PHRASES:
        m = rx.search(low)
        if m and c not in have:
            out.append((c, m.group(0), None))
    if backing and "unique" not in have and re.search(r"\bthe only\b", low):
        out.append(("unique", "the only", None))  # "o1 was the only model that ..." backs "the one model that ..."
    if answer_head:
        low = rest  # "Often it will not: ...": the answer's head echoes a "will" question, it predicts nothing
    if _WILL.search(_RELATIVE_WILL.sub(r"\1 is \2", low)) and "will" not in have:
        out.append(("will", "will", None))
    return out


def strengths(text: str) -> dict[str, str]:
    """The strength classes ``text`` uses, each with the first word that carries it ("universal": "every")."""
    out: dict[str, str] = {}
    for c, w, _ in strength_items(text):
        out.setdefault(c, w)
    return out


_PRONOUNS = frozenset("them these those they us".split())
_DEGREE_BEFORE = frozenset("the a would could might should will can may what who".split())
_COUNTS = frozenset("two three four five six seven eight nine ten eleven twelve twenty both".split())
_VERBS = frozenset("""left were are had have did do showed show made make fell rose kept gave got came went ran
point agree pointed agreed failed fail found find say said""".split())


ALIGNED = 3  # evidence sentences (most content words shared with the claim) whose strength may back it


def overclaim(claim: str, evidence: Sequence[str], aligned: int = ALIGNED) -> str | None:
    """The word with which ``claim`` states more than its evidence does (a universal, a certainty, a
    uniqueness or a majority that none of the ``aligned`` evidence sentences closest to it in content words
    states at that strength or above), or None. The strength must come from the sentences the claim restates:
    "every model" is not backed by "every run" said of something else in the same note, nor by "models from every
    developer" (a population quantifier is backed only on the noun it quantifies)."""
    from store.stemming import stem

    mine = strength_items(claim)
    if not mine:
        return None
    sents = [s for t in evidence for s in (split_sentences(t) or [t])]
    words = content_words(claim)
    sents.sort(key=lambda s: -len(words & content_words(s)))
    theirs = [(it, {stem(w) for w in _TOKEN.findall(t.lower())}, t) for t in sents[:aligned]
              for it in strength_items(t, backing=True)]

    def backs(head, h2, sent_stems, word=None, word2=None, sent=None) -> bool:
        if head is None:
            if word is None or word2 is None or " " in word or " " in word2:
                return True
            near, near2 = _near_stems(claim, word), _near_stems(sent, word2)
            # an adverb is backed where the evidence's says it of the same thing: "left the defection largely
            # intact" does not back "largely rests on recognising the test"
            return near is None or near2 is None or bool(near & near2)
        if h2 is None:  # an adverb ("consistently") backs "the whole gap" only in a sentence about the gap
            return any(_related(a, b) for a in head for b in sent_stems)
        return any(_related(a, b) for a in head for b in h2)

    def same_word(word: str) -> bool:
        """An aligned evidence sentence has the adverb's own adjective, not denied: "a pure capability explanation"
        for "a purely capability-based explanation" (the adjective is in no class, so it backs nothing itself)."""
        if not word.endswith("ly"):
            return False
        base = stem(word)
        for t in sents[:aligned]:
            toks = _TOKEN.findall(t.lower())
            for i, w in enumerate(toks):
                if (w != word and _class(w) is None and stem(w) == base
                        and not set(toks[max(0, i - 2):i]) & (_NEGATORS | _SOFTENERS)):
                    return True
        return False

    for c, word, head in mine:
        if same_word(word):
            continue
        if not any(c2 in _BACKED_BY[c] and backs(head, h2, st, word if c in _ADVERB_CLASSES else None, w2, t)
                   for (c2, w2, h2), st, t in theirs):
            return word
    return None


_ADVERB_CLASSES = frozenset({"universal", "majority"})  # an adverb of these must be backed on what it is said of
NEAR_WORDS = 3  # content words either side of an adverb that say what it is said of ("fully | explained by training")


def _near_stems(text: str, word: str) -> set[str] | None:
    """The stems of the content words within NEAR_WORDS of ``word``'s first use in ``text`` (None if absent)."""
    from store.stemming import stem

    toks = _TOKEN.findall(text.lower().replace("’", "'"))
    if word not in toks:
        return None
    i = toks.index(word)

    def near(side: list[str]) -> list[str]:  # the first NEAR_WORDS content words among 8 tokens on one side
        return [stem(t) for t in side[:8] if t not in STOPWORDS and _class(t) is None][:NEAR_WORDS]

    return set(near(toks[:i][::-1])) | set(near(toks[i + 1:]))


# --------------------------------------------------------------------------------------------- reversals
# Words and phrases that state a polarity the shared rule (rag.contradiction) reads only from its own cue
# list: weak negators ("poor at locating" says the model does not locate) and phrasal verbs of ending or
# persisting ("trained the backdoor out", "left the misalignment in place"). Applied to both texts before
# their polarity is read.
PHRASAL_REACH = 6  # words between a phrasal verb and its particle ("trained most of the planted defection out": 5;
# "left the conditional defection largely intact": 4)
_NORMAL = [(re.compile(p), r) for p, r in (
    (r"\b(?:poor(?:ly)?|bad) at\b", "not"),
    (r"\b(?:unable|struggled?|struggles|struggling) to\b", "not"),
    (r"\b(?:rarely|seldom|hardly ever)\b", "not"),
    (r"\bdid little\b", "did not"),
    # "let the first attempt drift freely away from the base model": it departed, where "kept it close" says it stayed
    (r"\b(?:drift|drifts|drifted|drifting|stray|strays|strayed|straying|wander|wanders|wandered|wandering)"
     r"(?: \w+ly)? away\b", "departed"),
    (r"\bwithout\b", "not"),
    # direction verbs the shared cue list (rag.contradiction) does not read, as the ones it does
    (r"(?<![-\w])(?:lowered|lowering|lowers|halved|narrowed|narrowing|plummeted|slashed)(?![-\w])", "decreased"),
    (r"(?<![-\w])(?:cut|cuts|cutting)(?![-\w])(?! (?:both|across|off|out|short|through|in|corners)\b)", "decreased"),
    (r"(?<![-\w])(?:climbed|climbing|climbs|jumped|soared|doubled|tripled|widened|widening)(?![-\w])", "increased"),
    # "keep its harmlessness from being trained away", "stop X from Y-ing": the state word acts on the action after
    # "from", not on X (to keep X from being removed is to stop its removal)
    (r"\b(?:keep|keeps|kept|keeping|stop|stops|stopped|stopping|prevent|prevents|prevented|preventing) "
     r"((?:[\w'-]+ ){0,3}?)from\b", r"guard \1from"),
    (rf"\btrain(?:ed|s|ing)? ((?:\w+ ){{0,{PHRASAL_REACH}}}?)(?:out|away)\b(?! of)", r"removed \1"),
    (rf"\b(?:left|leaves|leave|leaving) ((?:[\w'-]+ ){{0,{PHRASAL_REACH}}}?)(?:where (?:it|they) (?:was|were)|"
     rf"as (?:it|they) (?:was|were)|the same|unchanged)(?![\w-])", r"held \1"),
    (rf"\b(?:left|leaves|leave|leaving) ((?:\w+ ){{0,{PHRASAL_REACH}}}?)(?:in place|intact|untouched)\b", r"kept \1"),
)]
_UP = ("more", "higher", "greater", "better", "stronger", "larger", "increas", "improv", "rais", "rise", "rose",
       "boost", "enhanc", "gain", "grew", "grow", "longer", "faster", "bigger")
_DOWN = ("less", "fewer", "lower", "smaller", "worse", "weaker", "decreas", "reduc", "declin", "drop", "fell",
         "fall", "degrad", "impair", "hurt", "shrank", "shrink", "diminish", "shorter", "slower")
CUE_REACH = 1.0  # content words between a cue and its word for a polarity to count as stated (1: adjacent)


_NONE_OF = re.compile(r"\b(?:none|neither) of\b")
_CLAUSE_STOP = re.compile(r"[.;:!?,]|\b(?:but|while|whereas|although|though|yet|however)\b")


def _none_of(t: str) -> str:
    """A clause that opens on "none of" (or "neither of") negates its first cue word: "none of the protocols
    tested consistently beat X" reads as "the protocols tested consistently not beat X", so the negation reaches
    the word it denies."""
    out, pos = [], 0
    for m in _NONE_OF.finditer(t):
        if m.start() < pos:
            continue
        stop = _CLAUSE_STOP.search(t, m.end())
        end = stop.start() if stop else len(t)
        clause = t[m.end():end]
        cue = next((c for c in re.finditer(r"[a-z]+", clause)
                    if _direction(c.group()) or _state(c.group()) or _cls_shared(c.group())), None)
        if cue is None:
            continue
        out.append(t[pos:m.start()] + clause[:cue.start()].lstrip() + "not " + clause[cue.start():])
        pos = end
    return "".join(out) + t[pos:]


def _cls_shared(tok: str) -> int:
    from rag.contradiction import _cls

    return _cls(tok)


_ASKED = re.compile(r"\b(whether|when|how|if|where) to ([a-z]+)\b")


def _asked(t: str) -> str:
    """A cue word in an embedded question ("told the model when to stop revising", "whether to keep revising") is
    asked, not stated: it is replaced by a neutral verb."""
    return _ASKED.sub(lambda m: f"{m.group(1)} to settle" if (_direction(m.group(2)) or _state(m.group(2))
                                                             or _cls_shared(m.group(2))) else m.group(0), t)


_THAN = re.compile(r"\bthan\b")
_CUE_AND = re.compile(r"\b([a-z]+) (and|or) ")


def _cue_ends_conjunct(t: str) -> str:
    """A cue word right before "and"/"or" closes its conjunct ("proxy reward went up and true reward went down"):
    a clause boundary after it keeps the shared polarity reader from carrying "up" onto "true"."""
    return _CUE_AND.sub(lambda m: f"{m.group(1)} but {m.group(2)} " if (_direction(m.group(1)) or _state(m.group(1))
                                                                         or _cls_shared(m.group(1))) else m.group(0), t)


def _normal(text: str) -> str:
    t = _PHRASAL_UP.sub(r"\1", text.lower().replace("’", "'").replace("n't", " not"))
    for rx, r in _NORMAL:
        t = rx.sub(r, t)
    # the shared polarity reader lets a comparative reach across "than"; a clause boundary after it keeps "better
    # than the stated numbers" from saying the stated numbers improved
    return _cue_ends_conjunct(_THAN.sub("than but", _none_of(_asked(t))))


def _related(a: str, b: str) -> bool:
    return _same(a, b) or (min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)))


_LIGHT_VERBS = frozenset("went go goes going gone came come comes got get gets moved move moves turned".split())
_UP_EXACT = {"up"}  # particles, whole words only ("pushed accuracy up"; not "update", "downstream")
_DOWN_EXACT = {"down"}
# "the drop showed up on every measure", "it ended up lower": a phrasal verb's "up" is no direction (dropped)
_PHRASAL_UP = re.compile(r"\b(show|shows|showed|shown|showing|turn|turns|turned|came|come|comes|end|ends|ended|"
                         r"pick|picks|picked|bring|brings|brought|sum|sums|summed|set|sets) up\b")


def _direction(tok: str) -> int:
    if tok.startswith(_UP) or tok in _UP_EXACT:
        return 1
    if tok.startswith(_DOWN) or tok in _DOWN_EXACT:
        return -1
    return 0


def _directions(text: str) -> dict[str, int]:
    """Per stem: the direction word next to it (the word just before the cue, or the first content word
    in the three after it: "complied less", "less well calibrated")."""
    from store.stemming import stem

    toks = _TOKEN.findall(text)

    from rag.contradiction import _NEG

    def content(w: str) -> bool:
        return len(w) >= 3 and w not in STOPWORDS and not _direction(w)

    out: dict[str, int] = {}
    for i, w in enumerate(toks):
        d = _direction(w)
        if not d:
            continue
        if any(t in _NEG for t in toks[max(0, i - NEG_REACH_STATE):i]):
            d = -d  # "did not improve recall", "no more likely"
        b = i - 1
        if b > 0 and toks[b] in _LIGHT_VERBS:
            b -= 1  # "accuracy went down": what went down is the word before the verb
        targets = [toks[b]] if b >= 0 and content(toks[b]) else []
        after = toks[i + 1:i + 4]
        for k, t in enumerate(after):  # "better than the stated numbers": the standard of a comparison is not what
            if t == "than" or t in _CLAUSE_END:  # moved; "went up and true reward fell": nor the next clause
                after = after[:k]
                break
        targets += [t for t in after if content(t)][:1]
        for t in targets:
            st = stem(t)
            out[st] = 0 if out.get(st, d) != d else d  # both ways ("the proxy score went up and the true score went
            # down"): two things share the word, and it says neither way on its own
    return {st: d for st, d in out.items() if d}


# Ending and persisting states, read beside the direction words: "the gap closed" / "a gap remained", "removed
# the defection" / "kept the defection". A transitive word acts on the words after it, an intransitive (or passive)
# one on the words before it; "closed", "ended", "stopped" are either, by whether a word follows in their clause.
_END_AFTER = ("remov", "eliminat", "erase", "erasi", "abolish", "eradicat", "suppress", "prevent", "cured")
_END_BEFORE = ("vanish", "disappear", "ceased", "faded", "gone", "departed")
_END_EITHER = {"closed", "closes", "close", "ended", "ends", "stopped", "stops"}
_PERSIST_AFTER = ("kept", "keep", "retain", "preserv", "still")
_PERSIST_BEFORE = ("remain", "persist", "surviv", "stayed", "stays", "intact", "linger")
_HELD_TRUE = {"in", "for", "on", "at", "across", "under", "with", "when", "up", "true", "regardless", "even", "only",
              "both", "throughout", "beyond", "over"}
_COPULAS = {"stayed", "stays", "remained", "remains", "was", "were", "is", "are", "held", "kept", "looked"}
_PASSIVE = {"was", "were", "is", "are", "be", "been", "being", "get", "got"}
_CLAUSE_END = {"and", "but", "while", "whereas", "although", "though", "yet", "however", "so", "because", "which",
               "when", "with", "after", "before", "once"}
STATE_BEFORE = 2  # content words before an intransitive state word that it is said of ("the compliance gap closed")
STATE_AFTER = 3  # content words after a transitive one ("suppressed misalignment in the fine-tuned models")
VETO_SHARE = 0.5  # an evidence sentence agreeing with the claim on a word vetoes a reversal only if it shares at
# least this share of the content words the opposing sentence shares with the claim: "covert action rates fell"
# (after training) does not back "deleting the remarks lowered covert action rates" against a sentence that says
# deleting them raised the rates (3 content words shared with the claim against 11); set on the hand-written replies,
# whose restatements share about as many words as the sentence they restate


# Level words: what they are said of did not move ("holding their scores", "accuracy held steady"). A level
# contradicts a direction on the same word ("their scores dropped"), where a persisting state does not ("a smaller
# gap remained").
_LEVEL_AFTER = {"held", "hold", "holds", "holding", "maintained", "maintaining", "maintains"}
_LEVEL_BEFORE = {"unchanged", "steady", "stable", "constant", "flat", "unaffected"}
_SUCCEED_BEFORE = ("succeed", "worked", "helped", "paid off")
_FAIL_BEFORE = ("failed", "fails", "backfir")


def _state(tok: str) -> tuple[str, int, str] | None:
    """(the kind: "state" for persisting/ending, "outcome" for succeeding/failing; +1 or -1; the side it acts on:
    "after", "before" or "either"), or None."""
    if tok in _END_EITHER:
        return "state", -1, "either"
    if tok.startswith(_END_AFTER):
        return "state", -1, "after"
    if tok.startswith(_END_BEFORE):
        return "state", -1, "before"
    if tok.startswith(_PERSIST_AFTER):
        return "state", 1, "after"
    if tok.startswith(_PERSIST_BEFORE):
        return "state", 1, "before"
    if tok in _LEVEL_AFTER:
        return "level", 0, "after"
    if tok in _LEVEL_BEFORE:
        return "level", 0, "before"
    if tok.startswith(_SUCCEED_BEFORE) or tok in ("works", "helps", "help"):
        return "outcome", 1, "before"
    if tok.startswith(_FAIL_BEFORE):
        return "outcome", -1, "before"
    return None


_STATE_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[.,;:!?()]")


def _states(text: str) -> dict[tuple[str, str], int]:
    """Per (kind, stem): for the kind "state", +1 when the text says it persists ("a compliance gap remained", "kept
    the defection"), -1 when it says it ends ("the gap closed", "suppressed misalignment", "the backdoor was
    removed"); for "outcome", +1 when it says it worked ("the new prompt helped"), -1 when it failed ("the
    intervention backfired"); for "level", 0 when it says it did not move ("holding their scores"). A negation just
    before the word flips it ("did not remove the backdoor": +1; a negated level says nothing)."""
    from rag.contradiction import GENERIC, _NEG
    from store.stemming import stem

    toks = _STATE_TOKEN.findall(text)

    def content(w: str) -> bool:
        return (len(w) >= 3 and w[0].isalnum() and w not in STOPWORDS and w not in GENERIC and w not in _NEG
                and not _direction(w) and _state(w) is None and not w.endswith("ly"))

    out: dict[tuple[str, str], int] = {}
    for i, w in enumerate(toks):
        st = _state(w)
        if st is None and w in ("work", "succeed") and i > 0 and toks[i - 1] in _NEG:
            st = ("outcome", 1, "before")  # "did not work" (a bare "work" is mostly the noun)
        if st is None:
            continue
        kind, sign, side = st
        if any(t in _NEG for t in toks[max(0, i - NEG_REACH_STATE):i]):
            if kind == "level":
                continue  # "did not hold steady" says it moved, not which way
            sign = -sign
        if kind == "level" and side == "after" and i + 1 < len(toks) and toks[i + 1] in _LEVEL_BEFORE:
            side = "before"  # "accuracy held steady"
        elif kind == "level" and side == "after" and i + 1 < len(toks) and toks[i + 1] in _HELD_TRUE:
            continue  # "this held in a regression analysis", "held across tasks": the finding held, no level
        if side == "either":  # transitive when its clause goes on after it ("closed the gap"), else intransitive
            nxt = toks[i + 1] if i + 1 < len(toks) else "."
            side = "after" if nxt[0].isalnum() and nxt not in _CLAUSE_END and not nxt.endswith("ly") else "before"
        if side == "after" and i > 0 and toks[i - 1] in _PASSIVE:
            side = "before"  # a transitive word in the passive acts on its subject ("the backdoor was removed")
        start = i - 1
        if kind == "level" and side == "before" and i > 0 and toks[i - 1] in _COPULAS:
            start = i - 2  # "accuracy stayed flat": the level is said of the word before the copula
        rng, limit = (range(i + 1, len(toks)), STATE_AFTER) if side == "after" else (range(start, -1, -1), STATE_BEFORE)
        found = 0
        for j in rng:
            t = toks[j]
            if not t[0].isalnum() or t in _CLAUSE_END or (j != i and (_direction(t) or _state(t) or _cls_shared(t))):
                break  # the clause ends, or another cue's words begin ("removing the hint lowered the rate")
            if content(t):
                out.setdefault((kind, stem(t)), sign)
                found += 1
                if found >= limit:
                    break
    return out


NEG_REACH_STATE = 2  # tokens before a state word within which a negation flips it ("did not remove", "never closed")


def _sentences(evidence: Sequence[str]) -> list[str]:
    return [s for t in evidence for s in (split_sentences(t) or [t])]


# How a change happened, said in opposite words: "drifted smoothly" against "flipped abruptly at a threshold".
# A claim using one side's words about a sentence of its evidence that uses only the other side's says the opposite.
_MANNER = (
    frozenset("gradual gradually smooth smoothly steadily incremental incrementally slowly".split()),
    frozenset("abrupt abruptly sudden suddenly sharply threshold thresholds flip flips flipped jump jumps jumped "
              "discontinuous".split()),
)
MANNER_SHARED = 3  # content words a claim and an evidence sentence share to be about the same change


def manner_reversal(claim: str, evidence: Sequence[str]) -> str | None:
    """The claim's manner word when it says a change was gradual where its evidence says it was abrupt (or the
    reverse), and no evidence sentence about the same thing uses the claim's side; else None."""
    words = set(_TOKEN.findall(claim.lower()))
    sides = [words & side for side in _MANNER]
    if bool(sides[0]) == bool(sides[1]):  # neither, or both ("gradually, then abruptly")
        return None
    mine, other = (0, 1) if sides[0] else (1, 0)
    c_words = content_words(claim)
    about = [set(_TOKEN.findall(s.lower())) for s in _sentences(evidence) if len(c_words & content_words(s)) >= MANNER_SHARED]
    if any(w & _MANNER[mine] for w in about) or not any(w & _MANNER[other] for w in about):
        return None
    return sorted(sides[mine])[0]


def reversal(claim: str, evidence: Sequence[str]) -> str | None:
    """The word on which ``claim`` says the opposite of its evidence, or None.

    A candidate is a word on which the claim and some evidence sentence put opposite direction words
    ("better calibrated" / "less calibrated"), opposite states ("the gap closed" / "a gap remained", "removed the
    defection" / "left the defection intact"), or opposite polarities stated by an adjacent cue or negation
    (``rag.contradiction.polarity``: "no more likely to be wrong" / "more likely to be wrong"). It counts only if
    *no* evidence sentence about the same thing agrees with the claim on that word (one that shares at least
    ``VETO_SHARE`` of what the opposing sentence shares with the claim): a paraphrase that restates one evidence
    sentence while another words it differently agrees with its evidence and is not dropped."""
    sents = _sentences(evidence)
    if not sents or not claim.strip():
        return None
    c_norm = _normal(claim)
    e_norm = [_normal(s) for s in sents]
    c_words = content_words(claim)
    shared = [len(c_words & content_words(s)) for s in sents]
    pc = polarity(c_norm)
    pe: list[list[Polar]] = [polarity(s) for s in e_norm]
    de = [_directions(s) for s in e_norm]
    se = [_states(s) for s in e_norm]
    dc, sc = _directions(c_norm), _states(c_norm)
    # (word, the sign of what the claim says of it there) -> the evidence sentences that oppose the claim on it;
    # each statement is judged on its own: "well calibrated", said earlier in a claim, does not make "calibration
    # worsened with size" agree with evidence that it improved with size
    cands: dict[tuple[str, int | None], list[int]] = {}
    same_kind: dict[tuple[str, int | None], set[int]] = {}  # ... of which those that oppose it on the same kind of
    # word (a direction against a direction, a state against a state), not on the shared polarity that reads both
    # as one sign

    def add(st: str, k: int, sign: int | None, kind: bool) -> None:
        cands.setdefault((st, sign), []).append(k)
        if kind:
            same_kind.setdefault((st, sign), set()).add(k)

    c_level = [st for (kd, st) in sc if kd == "level"]
    for k in range(len(sents)):
        for st, d in de[k].items():
            for w, v in dc.items():
                if v == -d and _related(w, st):
                    add(st, k, v, True)  # the opposite direction
            if any(_related(w, st) for w in c_level):
                add(st, k, None, True)  # the claim says it did not move, the evidence that it moved
        for (kind, st), d in se[k].items():
            if kind == "level":
                for w, v in dc.items():
                    if _related(w, st):
                        add(st, k, v, True)  # the claim says it moved, the evidence that it held
                continue
            mine = [v for (kd, w), v in sc.items() if kd == kind and _related(w, st)]
            if mine and all(v == -d for v in mine):
                add(st, k, mine[0], True)
        for a in pc:
            if a.cued and a.distance <= CUE_REACH and any(_related(a.stem, b.stem) and b.cued and b.sign != a.sign
                                                          and b.distance <= CUE_REACH for b in pe[k]):
                add(a.stem, k, a.sign, False)
    for (w, sign), opposing in cands.items():
        need = VETO_SHARE * max(shared[k] for k in opposing)
        about = [k for k in range(len(sents)) if shared[k] >= need]
        # what the claim states about the word there (a mere mention, on either side, states nothing: "a misaligned
        # persona feature" does not agree with "kept it")
        mine = [a for a in pc if a.cued and _related(a.stem, w) and a.sign == sign]
        if mine and any(b.cued and b.sign == a.sign and _related(a.stem, b.stem)
                        for k in about for b in pe[k] for a in mine):
            continue  # some evidence about the same thing agrees with the claim on this word
        s_mine = {(kd, v) for (kd, st), v in sc.items() if _related(st, w)}
        if s_mine and any((kd, v) in s_mine and _related(st, w) for k in about for (kd, st), v in se[k].items()):
            continue  # ... or says the same of its state or outcome
        ctx = _cue_context(c_norm, w)
        negs = _NEG5 & ctx  # a negation the claim puts by the word must be the evidence's too, and no other
        if ctx and any(ctx <= _cue_context(e_norm[k], w, reach=None)
                       and negs == _NEG5 & _cue_context(e_norm[k], w, reach=NEG_CONTEXT)
                       for k in about if k not in same_kind.get((w, sign), ())):
            continue  # a sentence of the evidence about the word has the same cue words ("no longer resembles";
            # "reduced the behaviour without removing it" / "reduced but did not remove the behaviour"); not one
            # whose direction or state word on it is the opposite of the claim's (a swap: "deleting X raised Y, and
            # inserting X lowered Y" read against "deleting X lowered Y")
        return w
    return manner_reversal(claim, evidence)


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
_NUMWORD = re.compile(r"\b(two|three|four|five|six|seven|eight|nine|ten|twice)\b\s+([\w-]+)(\W+[\w-]+)?", re.I)
_NAME = re.compile(r"(?<![.!?:;]\s)(?<!^)(?<![-\w])([A-Z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*)")  # not inside a
# hyphenated word ("Degeneration-of-Thought" is one name, not "Thought")


def discourse_free(text: str) -> str:
    """``text`` without count words that number the answer's own parts ("the two results fit together")."""
    def repl(m: re.Match) -> str:  # the two words after the count, punctuation between them or not ("two sides:")
        follow = [m.group(2).lower()] + re.findall(r"[\w-]+", (m.group(3) or "").lower())
        return m.group(0) if not any(w in _DISCOURSE for w in follow) else m.group(0)[len(m.group(1)):].lstrip()
    return _NUMWORD.sub(repl, text)


def names(text: str) -> set[str]:
    """Capitalised words not at a sentence's start (names of models, labs, authors, benchmarks), lower-cased."""
    out = set()
    for m in _NAME.finditer(text):
        w = m.group(1)
        if len(w) >= 2 and w.lower() not in STOPWORDS:
            out.add(w.lower())
    return out


_VERSION = re.compile(r"\b([A-Z][A-Za-z]*)([- ])(\d+(?:\.\d+)*[a-z]?)\b")
_POSSESSIVE = re.compile(r"\b([A-Z][\w.-]*)['’]s\s+([a-z][a-z0-9-]*)((?:\s+[a-z][a-z-]*){0,2})")
_ACRONYM = re.compile(r"^[a-z]{2,6}$")


def _name_words(texts: Iterable[str]) -> set[str]:
    """The words the texts use as names (capitalised mid-sentence), lower-cased: what may carry a version."""
    out: set[str] = set()
    for t in texts:
        out |= {w.split("-")[0] for w in names(t)}
    return out


def versions(text: str, name_words: set[str]) -> set[str]:
    """A name's version written after it ("Claude 2", "Gemini 2.5", "GPT-4o"), as "claude 2": part of the
    name, not a figure."""
    return {f"{m.group(1).lower()} {m.group(3)}" for m in _VERSION.finditer(text) if m.group(1).lower() in name_words}


def figures(text: str, name_words: set[str] = frozenset()) -> set[str]:
    """The figures ``text`` states: its numbers, less the count words that number the answer's own parts and the
    versions of names (the "2" of "Claude 2" is no count: "twice the distance" is not backed by it)."""
    bare = _VERSION.sub(lambda m: m.group(1) if m.group(1).lower() in name_words else m.group(0), text)
    folds = {m.group(1) for m in _FOLD.finditer(text.lower()) if m.group(1).isdigit()}  # "30-fold" is "30x"
    return {n for n in numbers(content_words(discourse_free(bare))) if n.split("-")[0] not in folds} | ratios(text)


# Ratios written as words are figures too ("over half of their runs", "roughly doubled the effect"): each maps to
# one value, so "twice" is backed by "doubled" and "thirtyfold" by "30-fold"
_RATIO_WORDS = {"half": "1/2", "halved": "1/2", "halve": "1/2", "halving": "1/2", "twice": "2x", "double": "2x",
                "doubled": "2x", "doubling": "2x", "doubles": "2x", "twofold": "2x", "thrice": "3x", "triple": "3x",
                "tripled": "3x", "tripling": "3x", "threefold": "3x", "quadrupled": "4x", "fourfold": "4x"}
_FOLD = re.compile(r"\b(\w+?)-?fold\b")
_FOLD_NUMBERS = {"five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twenty": 20, "thirty": 30,
                 "forty": 40, "fifty": 50, "hundred": 100, "thousand": 1000}


def ratios(text: str) -> set[str]:
    """The ratios ``text`` states in words or as "-fold" ("half" -> "1/2", "tenfold" and "10-fold" -> "10x")."""
    low = text.lower().replace("’", "'")
    out = {_RATIO_WORDS[w] for w in _TOKEN.findall(low) if w in _RATIO_WORDS}
    for m in _FOLD.finditer(low):
        w = m.group(1)
        if w.isdigit():
            out.add(f"{w}x")
        elif w in _FOLD_NUMBERS:
            out.add(f"{_FOLD_NUMBERS[w]}x")
    return out


def _initials(text: str) -> tuple[str, str]:
    """The initials of a text's words, with and without its stopwords, hyphenated words split ("reinforcement
    learning from human feedback": "rlfhf", "rlhf")."""
    toks = [t for w in _TOKEN.findall(text.lower()) for t in w.split("-") if t and t[0].isalpha()]
    return "".join(t[0] for t in toks), "".join(t[0] for t in toks if t not in STOPWORDS)


def _spelled_out(acronym: str, initials: Sequence[tuple[str, str]]) -> bool:
    """An acronym ("rl", "rlhf", "llms") is known when the known texts spell it out: its letters are the
    initials of consecutive words there."""
    a = acronym.lower()
    a = a[:-1] if a.endswith("s") and len(a) > 2 else a
    return len(a) >= 2 and any(a in full or a in short for full, short in initials)


def new_names(text: str, known: Iterable[str]) -> list[str]:
    """Names in ``text`` that none of the ``known`` texts has: a capitalised word (an acronym counts as known
    where the texts spell it out), a name's version ("Claude 5" against "Claude 2"), or something attributed to a
    name that the texts never mention ("OpenAI's preparedness team" against a note that names OpenAI only for its
    model)."""
    known = list(known)
    known_tokens: set[str] = set()
    known_words: set[str] = set()
    for k in known:
        known_tokens |= {w.lower() for w in _TOKEN.findall(k.lower())}
        known_words |= content_words(k)
    initials = [_initials(k) for k in known]
    known_parts = {x for k in known_tokens for x in k.split("-") if x}
    known_acronyms = {a.lower() for k in known for a in re.findall(r"\b([A-Z]{2,6})s?\b", k)}
    name_words = _name_words([*known, text])
    out = sorted(n for n in names(text) if n not in known_tokens
                 and not any(_related(n, k) for k in known_tokens if len(n) >= 5)
                 and not (text_acronym(n, text) and _spelled_out(n, initials)))
    known_versions = set().union(*(versions(k, name_words) for k in known)) if known else set()
    out += sorted(v for v in versions(text, name_words) - known_versions
                  if not any(v.split()[1] in k for k in known_tokens if k.startswith(v.split()[0] + "-")))
    for m in _POSSESSIVE.finditer(text):
        w = m.group(2)
        if w in STOPWORDS or _VERSION.match(w):
            continue
        parts = [x for x in w.split("-") if x and x not in STOPWORDS]
        follow = [w, *m.group(3).split()]
        spelled = any("".join(x[0] for x in follow[:n]) in known_acronyms for n in (2, 3) if len(follow) >= n)
        # by the word itself, not its stem ("interpretability" is not backed by "interpreted"): a prefix either way
        # ("team" / "teams"), an acronym the next words spell ("SCoRe's reinforcement learning" against "RL")
        seen = any(any(x == k or (min(len(x), len(k)) >= 4 and (x.startswith(k) or k.startswith(x)))
                       for k in known_parts) for x in parts)
        if parts and not seen and not spelled:
            out.append(f"{m.group(1).lower()}'s {w}")
    return out


def text_acronym(name: str, text: str) -> bool:
    """``name`` (lower-cased) is written in capitals in ``text`` ("RL", "RLHF", "LLMs")."""
    return bool(_ACRONYM.match(name)) and bool(re.search(rf"\b{re.escape(name.upper())}s?\b", text))


def new_facts(text: str, known: Iterable[str]) -> list[str]:
    """Names and figures in ``text`` that none of the ``known`` texts has (the evidence given and the
    answer's findings): what a connecting sentence must not add."""
    known = list(known)
    name_words = _name_words([*known, text])
    known_figures: set[str] = set()
    for k in known:
        known_figures |= figures(k, name_words)
    return sorted(figures(text, name_words) - known_figures) + new_names(text, known)
