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

from rag.contradiction import opposition, shared_specific

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
MAX_NOTES = 3  # the best-ranked notes the claim is checked against: the answer would rest on them


def presupposition(question: str) -> str | None:
    """What the question takes for granted, as a clause; None when it takes nothing checkable for granted."""
    q = " ".join(question.strip().split()).rstrip("?!. ")
    for pat in _PATTERNS:
        m = pat.match(q)
        if m:
            claim = m.group("claim").strip(" ,")
            return claim if len(claim.split()) >= MIN_CLAIM_WORDS else None
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
    claim = presupposition(question)
    if not claim:
        return None
    best: tuple[tuple, Correction] | None = None
    for rank, (note_id, sentences) in enumerate(list(notes)[:MAX_NOTES]):
        prev = ""
        for text, from_summary in sentences:
            context = f"{prev} {text}" if prev else text  # "The model still hacked as often" needs its subject
            prev = text
            if len(shared_specific(claim, context)) < 2:
                continue
            o = opposition(claim, text, min_shared=1, claim_cued=True)
            if o is None:
                continue
            alone = len(shared_specific(claim, text)) >= 2
            key = (o.both_cued, -rank, -o.distance, alone, from_summary, o.shared)
            if best is None or key > best[0]:
                best = (key, Correction(claim, note_id, text, o.word, from_summary, text if alone else context))
    return best[1] if best else None
