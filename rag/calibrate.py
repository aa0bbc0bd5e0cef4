"""Calibrate the abstention threshold for one index, from questions its owner knows the notes answer
(and, optionally, questions they know the notes do not).

What separates answerable from unanswerable questions depends on the notes: short, paraphrased notes
score lower than long papers that repeat a question's words, so one threshold cannot suit every knowledge
base (see README, "Abstention"). ``inquire calibrate`` measures this index:

    inquire calibrate my-questions.txt [--unanswerable off-topic.txt] [--max-false 0.05]

It scores each question's answerability (retrieval only, no synthesis), picks the threshold that abstains on
the most unanswerable questions while abstaining on at most ``max_false`` of the answerable ones (in the
middle of the range of such thresholds, for a margin), and stores it in the index; the engine then uses
it unless ``INQUIRE_SYNTHESIS__ABSTAIN_BELOW`` is set. Without an unanswerable file a built-in set of
everyday off-topic questions stands in, which tells the threshold nothing about near-topic questions.

A threshold is only stored when it is safe: it must refuse every built-in off-topic question (asked of this
index whatever the unanswerable file) and be at least ``MIN_ABSTAIN_BELOW``. One "answerable" question that
the notes do not actually answer (scoring like an off-topic one) can otherwise pull the threshold to 0.0 and
switch abstention off; the questions that did so are named, and ``save(..., force=True)`` (``--force``)
stores such a threshold anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from rag.answerability import answerability, refuses
from store.errors import InputError

# The lowest threshold stored without --force. Off-topic questions scored 0.0-0.045 on the demo notes (the 25
# built-in ones and "What is the capital of France?", measured with rag.calibrate.scores); 0.10 keeps twice
# that margin, and stays far under the thresholds calibration found for real knowledge bases (0.40-0.43 on
# PubMedQA+SciFact, README "Abstention").
MIN_ABSTAIN_BELOW = 0.10

# Questions no research knowledge base is about: the stand-in when no unanswerable file is given.
OFF_TOPIC = [
    "How long should sourdough bread proof before baking?",
    "What hydration level gives the best crumb in a sourdough loaf?",
    "Who won the 1998 football world cup?",
    "What is the capital of Australia?",
    "How do I change a bicycle tyre?",
    "What is the best way to learn Spanish grammar?",
    "How does compound interest work on a mortgage?",
    "Which houseplants survive in low light?",
    "What causes the northern lights?",
    "How do I remove a red wine stain from a carpet?",
    "When should tomato seedlings be planted outdoors?",
    "How many players are on a rugby union team?",
    "What is the difference between baking soda and baking powder?",
    "How do I descale a coffee machine?",
    "Which train goes from Paris to Milan?",
    "How often should a dog be walked each day?",
    "What temperature should a roast chicken reach inside?",
    "How do I tune a guitar to drop D?",
    "What were the causes of the French Revolution?",
    "How do I fix a dripping kitchen tap?",
    "What is a good stretching routine before running?",
    "How are diamonds formed in the earth?",
    "Which grape varieties are used in Champagne?",
    "How do I knit a scarf for beginners?",
    "What is the tallest mountain in Africa?",
]


@dataclass
class Calibration:
    abstain_below: float
    answerable: int
    unanswerable: int
    unanswerable_source: str  # "given" or "built-in off-topic"
    false_abstention: float
    abstention_on_unanswerable: float
    max_false: float
    notes: int
    vector_hash: str
    at: float = field(default_factory=time.time)
    false_abstained: list[dict] = field(default_factory=list)  # the answerable questions it would refuse
    answered_unanswerable: list[dict] = field(default_factory=list)  # the unanswerable ones it would answer
    problems: list[str] = field(default_factory=list)  # why the threshold is unsafe (empty: safe to store)
    off_topic_answered: list[dict] = field(default_factory=list)  # built-in off-topic questions it would answer
    dragged_down: list[dict] = field(default_factory=list)  # answerable questions scoring like off-topic ones

    @property
    def safe(self) -> bool:
        return not self.problems

    def stored(self) -> dict:
        d = asdict(self)
        for k in ("false_abstained", "answered_unanswerable", "off_topic_answered", "dragged_down"):
            d[k] = d[k][:20]
        return d


def scores(engine, questions: Sequence[str], progress: Callable[[int, int], None] | None = None) -> list[tuple[float, float]]:
    """(answerability, best cosine) for each question: retrieval only, no synthesis."""
    out = []
    for i, q in enumerate(questions, start=1):
        r = engine.retrieve(q, k=engine.settings.retrieval.top_k)
        a = answerability(engine.index, q, r)
        out.append((a.score, a.best))
        if progress:
            progress(i, len(questions))
    return out


def choose(pos: Sequence[tuple[float, float]], neg: Sequence[tuple[float, float]], max_false: float,
           never_below_best: float) -> float:
    """The threshold. A question is refused when its score is under the threshold and its best cosine under
    ``never_below_best`` (the engine's rule). Refusals only grow with the threshold, so the highest one that
    refuses at most ``max_false`` of ``pos`` (``top``) also refuses the most of ``neg``; every threshold between
    the highest ``neg`` score under ``top`` and ``top`` refuses the same, and the middle of that range is taken
    for a margin on both sides."""
    eligible = sorted(s for s, b in pos if refuses(s, b, float("inf"), never_below_best))  # refusable at all
    k = int(max_false * len(pos) + 1e-9)  # answerable questions that may be refused
    top = eligible[k] if len(eligible) > k else 1.0
    lo = max((s for s, b in neg if refuses(s, b, top, never_below_best)), default=0.0)
    t = round((lo + top) / 2, 4)
    return min(max(t, lo + 1e-4), top)


def refused(xs: Sequence[tuple[float, float]], t: float, never_below_best: float) -> list[bool]:
    return [refuses(s, b, t, never_below_best) for s, b in xs]


def check(t: float, answerable: Sequence[str], pos: Sequence[tuple[float, float]], off_topic: Sequence[str],
          off: Sequence[tuple[float, float]], never_below_best: float) -> tuple[list[str], list[dict], list[dict]]:
    """Is threshold ``t`` safe to store? (problems, built-in off-topic questions it would answer, answerable
    questions that dragged it down). The latter are the answerable questions a safe threshold would refuse:
    under the score that refuses every off-topic question (and under the floor), i.e. no more answerable to
    this index than an everyday off-topic question."""
    problems: list[str] = []
    # an off-topic question with a note as close as never_below_best is answered whatever the threshold, so it
    # says nothing about this one
    off_answered = [{"question": q, "answerability": round(s, 4)}
                    for q, (s, b), r in zip(off_topic, off, refused(off, t, never_below_best))
                    if not r and b < never_below_best]
    if off_answered:
        problems.append(f"{t} would answer {len(off_answered)} of the {len(off)} built-in off-topic questions "
                        f"(e.g. {off_answered[0]['question']!r})")
    if t < MIN_ABSTAIN_BELOW:
        problems.append(f"{t} is under the floor of {MIN_ABSTAIN_BELOW} (MIN_ABSTAIN_BELOW)")
    dragged: list[dict] = []
    if problems:
        safe_t = max([MIN_ABSTAIN_BELOW] + [s + 1e-4 for s, b in off if b < never_below_best])
        dragged = sorted(({"question": q, "answerability": round(s, 4)}
                          for q, (s, b), r in zip(answerable, pos, refused(pos, safe_t, never_below_best)) if r),
                         key=lambda d: d["answerability"])
    return problems, off_answered, dragged


def calibrate(engine, answerable: Sequence[str], unanswerable: Sequence[str] | None = None, max_false: float = 0.05,
              progress: Callable[[int, int], None] | None = None) -> Calibration:
    answerable = [q for q in dict.fromkeys(" ".join(q.split()) for q in answerable) if q]
    if len(answerable) < 10:
        raise InputError(f"{len(answerable)} answerable questions are too few to calibrate on; give at least 10 "
                         "(30 or more is better), one a line, that your notes do answer.")
    given = bool(unanswerable)
    negs = [q for q in dict.fromkeys(" ".join(q.split()) for q in (unanswerable or OFF_TOPIC)) if q]
    total = len(answerable) + len(negs) + (len(OFF_TOPIC) if given else 0)
    pos = scores(engine, answerable, (lambda d, t: progress(d, total)) if progress else None)
    neg = scores(engine, negs, (lambda d, t: progress(len(answerable) + d, total)) if progress else None)
    above = engine.settings.synthesis.answer_above_similarity
    t = choose(pos, neg, max_false, above)
    r_pos, r_neg = refused(pos, t, above), refused(neg, t, above)
    off = neg if not given else scores(  # the built-in set is the safety check either way
        engine, OFF_TOPIC, (lambda d, t: progress(len(answerable) + len(negs) + d, total)) if progress else None)
    problems, off_answered, dragged = check(t, answerable, pos, OFF_TOPIC, off, above)
    return Calibration(
        abstain_below=t, answerable=len(answerable), unanswerable=len(negs),
        unanswerable_source="given" if given else "built-in off-topic", false_abstention=sum(r_pos) / len(pos),
        abstention_on_unanswerable=sum(r_neg) / len(neg), max_false=max_false,
        notes=engine.index.manifest.count_notes(), vector_hash=engine.settings.vector_hash(),
        false_abstained=[{"question": q, "answerability": round(s, 4)}
                         for q, (s, _), r in zip(answerable, pos, r_pos) if r],
        answered_unanswerable=[{"question": q, "answerability": round(s, 4)}
                               for q, (s, _), r in zip(negs, neg, r_neg) if not r],
        problems=problems, off_topic_answered=off_answered, dragged_down=dragged,
    )


def save(engine, cal: Calibration, force: bool = False) -> None:
    """Store the threshold in the index (under its write lock); the engine uses it from the next question.
    An unsafe threshold (``cal.problems``) is refused unless ``force``."""
    if cal.problems and not force:
        named = "; ".join(repr(d["question"]) for d in cal.dragged_down[:5])
        raise InputError(
            f"threshold {cal.abstain_below} not stored: {'; '.join(cal.problems)}. "
            + (f"The answerable questions that dragged it down: {named}; check that your notes answer them, "
               "or leave them out. " if named else "")
            + "Store it anyway with --force.")
    with engine.index.write_lock(wait=True):
        engine.index.manifest.set("calibration", cal.stored())


def clear(engine) -> None:
    """Back to the default threshold."""
    with engine.index.write_lock(wait=True):
        engine.index.manifest.delete("calibration")
