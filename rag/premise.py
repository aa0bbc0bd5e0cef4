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


def presupposition(question: str) -> str | None:
    """What the question takes for granted, as a clause; None when it takes nothing checkable for granted."""
    q = " ".join(question.strip().split()).rstrip("?!. ")
    if _SPECULATIVE.match(q):
        return None
    for pat in _PATTERNS:
        m = pat.match(q)
        if m:
            # what follows a comma is the question's scene ("…, going by the debate findings"), not its claim
            claim = m.group("claim") if pat is _PATTERNS[0] else m.group("claim").split(",")[0]
            claim = claim.strip(" ,")
            return claim if len(claim.split()) >= MIN_CLAIM_WORDS else None
    return None


def _objects(toks: list[str], verb: re.Pattern) -> set[str]:
    """Stems of the CONCEAL_REACH specific words after each un-negated ``verb`` in ``toks`` (looked for within
    twice as many tokens): what is told, or hidden."""
    out: set[str] = set()
    for i, t in enumerate(toks):
        if verb.match(t) and not any(x in ("not", "never", "no") for x in toks[max(0, i - 2):i]):
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
    claim = presupposition(question)
    if not claim:
        return None
    best: tuple[tuple, Correction] | None = None
    told = _objects(_tokens(claim), _DISCLOSE)  # the claim's side of the two rules polarity cannot read
    ranks = _self_order(claim)
    for rank, (note_id, sentences) in enumerate(list(notes)[:MAX_NOTES]):
        prev, prev_own = "", ""
        for text, from_summary in sentences:
            own = LINKED_TITLE.sub(" ", text)  # what the sentence says, not the titles it points to
            context = f"{prev_own} {own}" if prev_own else own  # "The model still hacked as often" needs its subject
            before, prev, prev_own = prev, text, own
            if len(shared_specific(claim, context)) < 2:
                continue
            o = opposition(claim, own, min_shared=1, claim_cued=True)
            word = o.word if o is not None else \
                _concealed(told, own) or ("own" if ranks and _self_order(own) == -ranks else None)
            if word is None:
                continue
            n_shared = len(shared_specific(claim, own))
            both_cued, distance, shared = (o.both_cued, o.distance, o.shared) if o is not None else (True, 0.0, n_shared)
            alone = n_shared >= 2
            key = (both_cued, -rank, -distance, alone, from_summary, shared)
            if best is None or key > best[0]:
                best = (key, Correction(claim, note_id, text, word, from_summary,
                                        text if alone else f"{before} {text}" if before else text))
    return best[1] if best else None
