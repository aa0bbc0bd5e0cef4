"""The premise check: when the best notes contradict what a question takes for granted, the answer must
open with the correction rather than go along with it.

A question presupposes a claim when it asks *why* or *how* something happened, or states it outright
("Since X, …", "Given that X, …"): "Why does adversarial training remove backdoors?" takes for granted that
adversarial training removes backdoors. A yes/no question ("Does adversarial training remove backdoors?")
takes nothing for granted: "no" is simply its answer. The claim is checked against the sentences of the
notes retrieval ranks highest (their summaries, statement titles and bodies) with ``rag.contradiction``;
a sentence that says the opposite on a word they share is the correction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.contradiction import _specific, _tokens, opposition, shared_specific
from rag.text import LINKED_TITLE
from store.stemming import stem

_AUX = r"(?:does|do|did|is|are|was|were|has|have|had|can|could|would|will|should|might|may)"
_PATTERNS = [
    # "Since X, why …", "Given that X, how …"
    re.compile(r"^(?:since|given that|now that|because|as|seeing that|considering that)\s+(?P<claim>.+?),\s*"
               r"(?:why|how|what|which|who|when|where|so)\b", re.I),
    # "Why does X …", "Why did X …", "Why is X …"
    re.compile(rf"^(?:so\s+)?why\s+{_AUX}\s+(?P<claim>.+)$", re.I),
    # "Why X …" ("why larger models agree less …")
    re.compile(r"^(?:so\s+)?why\s+(?P<claim>(?!not\b).+)$", re.I),
    # "How did X make Y …", "How does X stop Y …" (manner questions take the event for granted);
    # "how often / much / many / well / long / far" ask a quantity and take nothing for granted
    re.compile(rf"^how\s+(?!often|much|many|well|long|far|likely|common|big|large|strong|good|bad)"
               rf"{_AUX}\s+(?P<claim>.+)$", re.I),
    re.compile(r"^how come\s+(?P<claim>.+)$", re.I),
    # "What makes X so strong …", "What explains X …"
    re.compile(r"^what\s+(?:makes|made|causes|caused|explains|explained|drives|drove|lets|allows|allowed|"
               r"enabled|enables)\s+(?P<claim>.+)$", re.I),
]
MIN_CLAIM_WORDS = 3  # a shorter "claim" ("why not?") takes nothing checkable for granted
# "Why might X …": a question about what could explain a possibility takes no fact for granted
_SPECULATIVE = re.compile(r"^(?:so\s+)?(?:why|how)\s+(?:might|may|could)\b", re.I)
# telling and hiding: "tells its manager the real reason" against "a report that hid the real reason"
_DISCLOSE = re.compile(r"^(?:tell|tells|told|report|reports|reported|reveal|reveals|revealed|admit|admits|admitted|"
                       r"disclose|discloses|disclosed|mention|mentions|mentioned|say|says|said|acknowledge|"
                       r"acknowledges|acknowledged|explain|explains|explained|verbali[sz]es?|verbali[sz]ed)$")
_CONCEAL = re.compile(r"^(?:hid|hide|hides|hiding|hidden|conceal\w*|withh[oe]ld\w*|omit\w*|misrepresent\w*|"
                      r"disguis\w*|obscur\w*)$")
CONCEAL_REACH = 3  # specific words after the verb that it tells or hides ("hid the real reason": reason is the 2nd)
MAX_NOTES = 3  # the best-ranked notes the claim is checked against: the answer would rest on them


# "Baker et al. had to use a monitor stronger than the model. How much stronger did it need to be?": a statement
# before the question is what it takes for granted (the asker's own situation, "I'm reading about …", is not)
_STATEMENT = re.compile(r"^(?P<claim>[^?!]*?[a-z0-9)\]%'’\"]\.)\s+(?P<rest>[^.]*\?)\s*$", re.S)
_SCENE = re.compile(r"^(?:in|for|during|across|after|at|on|with|among|under|within)\b[^,?]{3,80},\s*(?=(?:why|how)\b)",
                    re.I)
_PERSONAL = frozenset("i i'm i’m we we're we’re my our me us you your you're".split())


def _statement(question: str) -> str | None:
    """The statement a question's last sentence follows ("X did Y. How much …?"), if it makes a claim."""
    m = _STATEMENT.match(" ".join(question.strip().split()))
    if not m:
        return None
    from rag.evidence import split_sentences

    parts = split_sentences(m.group("claim"))  # "Baker et al. had …" is one sentence
    claim = (parts[-1] if parts else m.group("claim")).strip().rstrip(".")
    words = claim.lower().replace(",", " ").split()
    if len(words) < MIN_CLAIM_WORDS or set(words) & _PERSONAL:
        return None
    from rag.lexicon import pos

    if "VERB" in pos(words[0]) and "NOUN" not in pos(words[0]) and not words[0].endswith("s"):
        return None  # an instruction ("Compare the two studies."), not a claim
    return claim


def presupposition(question: str) -> str | None:
    """What the question takes for granted, as a clause; None when it takes nothing checkable for granted."""
    return _presupposed(question)[0]


def _presupposed(question: str) -> tuple[str | None, bool]:
    """(``presupposition``, whether it is a statement made before the question rather than read from it)."""
    q = " ".join(question.strip().split()).rstrip("?!. ")
    if _SPECULATIVE.match(q):
        return None, False
    stated = _statement(question)
    if stated is not None:
        return stated, True
    q = _SCENE.sub("", q)  # "In Gao et al.'s experiments, why did …": the scene set, then the question
    for pat in _PATTERNS:
        m = pat.match(q)
        if m:
            # what follows a comma is the question's scene ("…, going by the debate findings"), not its claim
            claim = m.group("claim") if pat is _PATTERNS[0] else m.group("claim").split(",")[0]
            claim = claim.strip(" ,")
            return (claim if len(claim.split()) >= MIN_CLAIM_WORDS else None), False
    return None, False


NEGATION_REACH = 2  # tokens before a verb where a "not" negates it ("did not tell", "never hid")


def _negated(toks: list[str], i: int) -> bool:
    """Whether a "not", "never" or "no" stands in the NEGATION_REACH tokens before token ``i``."""
    return any(x in ("not", "never", "no") for x in toks[max(0, i - NEGATION_REACH):i])


def _objects(toks: list[str], verb: re.Pattern) -> set[str]:
    """Stems of the CONCEAL_REACH specific words after each un-negated ``verb`` in ``toks`` (looked for within
    twice as many tokens): what is told, or hidden."""
    out: set[str] = set()
    for i, t in enumerate(toks):
        if verb.match(t) and not _negated(toks, i):
            out |= {stem(w) for w in [w for w in toks[i + 1:i + 1 + 2 * CONCEAL_REACH] if _specific(w)][:CONCEAL_REACH]}
    return out


def _concealed(told: set[str], text: str) -> str | None:
    """The thing the claim says is told (``told``: ``_objects`` of its disclosure verbs) and ``text`` says is
    hidden ("tell … the real reason" / "hid the real reason"), or None."""
    both = told & _objects(_tokens(text), _CONCEAL) if told else set()
    return max(sorted(both), key=len) if both else None  # the longest: the noun, not its adjective ("real")


_COMPARED = {"above", "over", "higher", "more", "better", "ahead", "before", "prefer", "prefers", "preferred",
             "favour", "favours", "favoured", "favor", "favors", "favored"}
_OWN, _OTHER = {"own", "itself", "themselves"}, {"other", "others", "other's", "others'", "another"}
RANKED_BEFORE, RANKED_AFTER = 6, 12  # tokens before and after a comparison word where the two sides are looked for


def _self_order(text: str) -> int:
    """+1 when ``text`` ranks one's own above others' ("rate their own summaries higher than … others"), -1 for
    the reverse ("rate other models' summaries above their own"), 0 when it ranks neither."""
    toks = _tokens(text)
    for i, t in enumerate(toks):
        if t in _COMPARED:
            before, after = set(toks[max(0, i - RANKED_BEFORE):i]), set(toks[i + 1:i + 1 + RANKED_AFTER])
            if before & _OWN and after & _OTHER:
                return 1
            if before & _OTHER and after & _OWN:
                return -1
    return 0


# Comparatives and their opposites: "a monitor stronger than the model" against "a monitor weaker than the model"
_OPPOSITE = {}
for _a, _b in [("stronger", "weaker"), ("larger", "smaller"), ("bigger", "smaller"), ("faster", "slower"),
               ("quicker", "slower"), ("higher", "lower"), ("better", "worse"), ("earlier", "later"),
               ("sooner", "later"), ("longer", "shorter"), ("easier", "harder"), ("cheaper", "costlier")]:
    _OPPOSITE.setdefault(_a, set()).add(_b)
    _OPPOSITE.setdefault(_b, set()).add(_a)
_ADVERBIAL = {"more slowly": "slower", "more quickly": "faster", "more rapidly": "faster", "less quickly": "slower",
              "more cheaply": "cheaper", "more easily": "easier", "more accurate": "better", "less accurate": "worse",
              "more accurately": "better", "less accurately": "worse"}
COMPARED_REACH = 6  # tokens before a comparative where what it is said of is looked for ("monitor | stronger")


def _comparative_tokens(text: str) -> list[str]:
    low = " " + " ".join(_tokens(text)) + " "
    for phrase, word in _ADVERBIAL.items():
        low = low.replace(f" {phrase} ", f" {word} ")
    return low.split()


def _compared(toks: list[str], i: int) -> set[str]:
    """Stems of the specific words a comparative at ``i`` is said of: those in the COMPARED_REACH tokens before it."""
    return {stem(w) for w in toks[max(0, i - COMPARED_REACH):i] if _specific(w)}


def _comparative_opposed(claim: str, text: str) -> str | None:
    """The comparative the claim predicates ("a monitor stronger than …", "exploited faster") that ``text`` states
    the opposite of, of the same thing ("the monitor was … weaker than …"), un-negated on both sides; or None. A
    comparative before a noun names a kind ("larger proxy reward models") and is not read."""
    ct, tt = _comparative_tokens(claim), _comparative_tokens(text)
    for i, w in enumerate(ct):
        if w not in _OPPOSITE or (i + 1 < len(ct) and ct[i + 1] != "than" and _specific(ct[i + 1])):
            continue
        if set(ct[max(0, i - 2):i]) & {"not", "no", "never"}:
            continue
        said_of = _compared(ct, i)
        for j, v in enumerate(tt):
            if v in _OPPOSITE[w] and not set(tt[max(0, j - 2):j]) & {"not", "no", "never"} \
                    and said_of & (_compared(tt, j) | {stem(x) for x in tt[j + 1:j + 3] if _specific(x)}):
                return w
    return None


# "GPT-4o was the most consistent schemer" against "GPT-4o did not scheme in these tests": the note denies, of the
# very model the claim names, the act the claim says it did
_DENIED = re.compile(r"(?P<subject>(?:[\w.-]+\s+){0,3}?[\w.-]+)\s+(?:did|does|do)\s+not\s+(?P<verb>[a-z]+)|"
                     r"(?P<subject2>(?:[\w.-]+\s+){0,3}?[\w.-]+)\s+never\s+(?P<verb2>[a-z]+)")
DENIED_STEM = 5  # letters a claim's word and the denied verb must share at their start ("schemer", "scheme")


def _denied_of_name(claim: str, text: str) -> str | None:
    """The verb ``text`` denies of a name the claim makes it the subject of, when the claim says that name did it
    ("… o1 … schemed", "GPT-4o was the … schemer"), un-negated; or None."""
    from rag.coverage import question_names

    names = question_names(claim)
    if not names or re.search(r"\b(?:not|never|no|didn't|doesn't)\b", claim, re.I):
        return None
    subject = names[0].lower()
    if not claim.lower().startswith(subject):  # the name the claim is about opens it
        return None
    words = [w.lower() for w in re.findall(r"[A-Za-z][\w-]*", claim)]
    for m in _DENIED.finditer(text):
        said_of = (m.group("subject") or m.group("subject2") or "").lower()
        verb = (m.group("verb") or m.group("verb2") or "").lower()
        if subject not in said_of.split()[-len(subject.split()):] and not said_of.endswith(subject):
            continue
        root = verb[:DENIED_STEM]
        if len(verb) >= DENIED_STEM and any(w.startswith(root) and w != subject for w in words[len(subject.split()):]):
            return verb
    return None


# "… changed only how it writes code and nothing else": a claim that an effect stayed narrow, against a note that
# says it spread ("misaligned far beyond coding", "answered unrelated questions … with misaligned content")
_ONLY = re.compile(r"\b(?:only|solely|nothing\s+else|no\s+other|just)\b", re.I)
_BROAD = re.compile(r"\b(?:far\s+beyond|beyond|unrelated|broad(?:ly)?|well\s+outside|spread\w*|generali[sz]\w*\s+to)\b",
                    re.I)


def _breadth_denied(claim: str, text: str) -> str | None:
    """The breadth word of ``text`` when the claim says an effect was confined ("only", "nothing else") and
    ``text``, un-negated, says it reached further; or None."""
    if not _ONLY.search(claim) or re.search(r"\b(?:not|never|didn't|doesn't)\b", claim, re.I):
        return None
    m = _BROAD.search(text)
    if m is None or re.search(r"\b(?:not|never|no)\s+(?:\w+\s+){0,2}$", text[:m.start()], re.I):
        return None
    return m.group(0).lower()


# "Given that chat models generally fake alignment …" against "a compliance gap above noise in only five" of 25:
# a claim that something is general, against a note that finds it in a minority
_GENERAL = re.compile(r"\b(?:generally|usually|typically|mostly|commonly|routinely|always|all|most|tend\s+to)\b", re.I)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10}
_MINORITY = re.compile(r"\bonly\s+(?:in\s+)?(?P<k>one|two|three|four|five|six|seven|eight|nine|\d+(?:\.\d+)?%?|a\s+few|"
                       r"a\s+handful|a\s+minority)\b(?:\s+(?:of|out\s+of)\s+(?:the\s+)?(?P<n>\d+))?|"
                       r"\b(?P<few>a\s+minority|a\s+handful|few)\s+of\b", re.I)


def _generality_denied(claim: str, text: str) -> str | None:
    """``text``'s minority ("only five") when the claim says something holds generally ("generally", "most",
    "all") and ``text`` finds it in less than half; or None."""
    if not _GENERAL.search(claim) or re.search(r"\b(?:not|never|rarely|few)\b", claim, re.I):
        return None
    for m in _MINORITY.finditer(text):
        k = (m.group("k") or "").lower()
        if k.endswith("%"):
            if float(k[:-1]) >= 50:
                continue
        elif k and m.group("n"):
            value = _NUMBER_WORDS.get(k) or (float(k) if k.replace(".", "").isdigit() else None)
            if value is None or value * 2 >= float(m.group("n")):
                continue
        return m.group(0).lower()
    return None


# "Why did the trading agent tell its manager about the tip?" against "a trading agent deceived its manager": the
# one the claim says was told is the one the note says was deceived
_DECEIVE = re.compile(r"^(?:deceiv\w*|misled|mislead\w*|lied|lies|lying|fooled|tricked|duped)$")
RECIPIENT_REACH = 3  # tokens after a disclosure verb where its recipient is looked for, and after a deception verb
HIDDEN_FROM_REACH = 6  # tokens before a concealing verb where the one kept in the dark is looked for


def _recipients(toks: list[str]) -> set[str]:
    """Stems of the specific words right after each un-negated disclosure verb ("tell | its manager"): who is told."""
    out: set[str] = set()
    for i, t in enumerate(toks):
        if _DISCLOSE.match(t) and not _negated(toks, i):
            words = [w for w in toks[i + 1:i + 1 + RECIPIENT_REACH] if _specific(w)]
            out |= {stem(words[0])} if words else set()
    return out


def _deceived(told: set[str], text: str) -> str | None:
    """The verb of ``text``, un-negated, that deceives whom the claim says was told (``told``: its
    ``_recipients``; "deceived its manager"), or hides something in what that one was given ("gave its manager a
    report that hid …"); or None."""
    if not told:
        return None
    toks = _tokens(text)
    for i, t in enumerate(toks):
        if _DECEIVE.match(t) and not _negated(toks, i):
            after = toks[i + 1:i + 1 + RECIPIENT_REACH + 1]  # "lied to its manager"
            if any(stem(w) in told for w in after if _specific(w)):
                return t
        if _CONCEAL.match(t) and not _negated(toks, i):
            before = toks[max(0, i - HIDDEN_FROM_REACH):i]  # "gave its manager a report that hid the real reason"
            if any(stem(w) in told for w in before if _specific(w)):
                return t
    return None


# "Since models are good at finding the first error …" against "models were poor at locating that error": an
# ability the claim grants, which the note denies of the same object
_ABLE = re.compile(r"\b(?:good|great|excellent|reliable|adept|skilled|able|capable)\s+(?:at|of|to)\s+\w+\s+"
                   r"(?P<object>(?:[\w-]+\s*){1,5})", re.I)
_UNABLE = re.compile(r"\b(?:poor|bad|weak|unable|struggl\w*|fail\w*|could\s+not|cannot|can't|rarely)\s+(?:at\s+|to\s+)?"
                     r"\w+\s+(?P<object>(?:[\w-]+\s*){1,4})", re.I)


def _ability_denied(claim: str, text: str) -> str | None:
    """``text``'s word of inability ("poor") when the claim says something is good at doing a thing and ``text``
    says it is poor at, or fails at, doing it to the same object ("the first error" / "that error"); or None."""
    if re.search(r"\b(?:not|never|no)\s+(?:\w+\s+)?(?:good|great|able|capable|reliable)\b", claim, re.I):
        return None
    objects = {stem(w) for m in _ABLE.finditer(claim) for w in _tokens(m.group("object")) if _specific(w)}
    if not objects:
        return None
    for m in _UNABLE.finditer(text):
        if {stem(w) for w in _tokens(m.group("object")) if _specific(w)} & objects:
            return m.group(0).split()[0].lower()
    return None


@dataclass
class Correction:
    claim: str  # what the question takes for granted
    note_id: str  # the note that says otherwise
    sentence: str  # its sentence that says otherwise, verbatim
    word: str  # the word on which they disagree
    from_summary: bool = False
    context: str = ""  # the sentence with the one before it, when it needs that one to name its subject


def check(question: str, notes: Sequence[tuple[str, Sequence[tuple[str, bool]]]]) -> Correction | None:
    """The correction, if one of ``notes`` (``(note id, [(sentence, from its summary), …])``, best-ranked first)
    contradicts what ``question`` takes for granted.

    A sentence counts when it shares at least two specific words with the claim (it is about the same thing)
    and says the opposite on a word the claim itself says something about (a cued word: "*removes* the
    backdoor", "*better* calibrated"), not one it merely mentions. Of those, the strongest wins: both sides
    cued, then the most words shared, then a summary sentence, then the better-ranked note."""
    claim, stated = _presupposed(question)  # a statement before the question: only the comparative rule reads it
    # (its subject is often not the notes' sentence's: "LLMs keep getting more persuasive" / "humans … did not")
    if not claim:
        return None
    best: tuple[tuple, Correction] | None = None
    told = _objects(_tokens(claim), _DISCLOSE)  # the claim's side of the rules polarity cannot read
    recipients = _recipients(_tokens(claim))
    ranks = _self_order(claim)
    for rank, (note_id, sentences) in enumerate(list(notes)[:MAX_NOTES]):
        prev, prev_own = "", ""
        for text, from_summary in sentences:
            own = LINKED_TITLE.sub(" ", text)  # what the sentence says, not the titles it points to
            context = f"{prev_own} {own}" if prev_own else own  # "The model still hacked as often" needs its subject
            before, prev, prev_own = prev, text, own
            if len(shared_specific(claim, context)) < 2:
                continue
            concealed = _concealed(told, own)  # where it reads the sentence, its word is kept ("reason")
            compared = _comparative_opposed(claim, own) or _denied_of_name(claim, own) \
                or _breadth_denied(claim, own) or _generality_denied(claim, own) \
                or (None if concealed else _deceived(recipients, own)) \
                or _ability_denied(claim, own)  # the most specific rules: they win over the others
            o = None if stated or compared else opposition(claim, own, min_shared=1, claim_cued=True)
            word = compared or (o.word if o is not None else None if stated else (
                concealed or ("own" if ranks and _self_order(own) == -ranks else None)))
            if word is None:
                continue
            n_shared = len(shared_specific(claim, own))
            both_cued, distance, shared = (o.both_cued, o.distance, o.shared) if o is not None else (True, 0.0, n_shared)
            alone = n_shared >= 2
            key = (compared is not None, both_cued, -rank, -distance, alone, from_summary, shared)
            if best is None or key > best[0]:
                best = (key, Correction(claim, note_id, text, word, from_summary,
                                        text if alone else f"{before} {text}" if before else text))
    return best[1] if best else None
