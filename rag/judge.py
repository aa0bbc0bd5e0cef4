"""The LLM's judgement of whether the evidence answers the question (an option, with an LLM configured).

A bi-encoder cannot tell a question the notes answer in other words from one in the same field that they
never take up ("Are voice assistants more sycophantic than text chat?" scores like an answerable question:
the notes are about sycophancy, just not about voice). A capable LLM reading the evidence can. With
``synthesis.llm_judge`` on, the engine asks it, before the answer is written, for a verdict:

* ``answers``: the evidence answers the question (it must cite the passages that do);
* ``partly``: it answers part of it; ``missing`` names the part it does not cover, in the question's words;
* ``no``: it does not answer it; ``missing`` names what it lacks.

The verdict is held to a check, as the LLM's prose is (``rag.verify``): an ``answers`` that cites no given
passage is ignored; a ``partly`` or ``no`` counts only when ``missing`` names a content word of the question
that none of the passages uses — a claim that something is missing which the evidence plainly covers is
ignored. A kept ``partly`` or ``no`` turns a ``direct`` answer ``indirect``; nothing else moves: refusing stays
reserved for questions far from every note (``rag.answerability``), a contradicted premise stays contradicted,
and ``answers`` never lifts the bi-encoder's flag. That last is deliberate: replayed on the demo sets
(``inquire eval judge-replay``), a credulous judge that calls every near-topic question answered would, if it
could lift flags, take the near-topic set from 77% flagged to 7%, and no check on its citations stops it; kept
one-way, a judge can only add caution (an over-cautious one flags answerable questions, the safe failure).
A failing LLM leaves the support as the bi-encoder set it, and says so in ``meta.judgement``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.text import content_words

VERDICTS = ("answers", "partly", "no")
MAX_ITEMS = 8  # passages the judge reads: the selected evidence's, merged (a short call, not a second answer)
MAX_PASSAGE_CHARS = 900  # per passage: enough for the sentence and the ones around it

SYSTEM = ("You check whether numbered evidence from a knowledge base of research notes answers a question. "
          "You judge only from the evidence given, and you reply with one JSON object and nothing else.")

PROMPT = """Question: {question}

Evidence (numbered passages; each is from the note named before the dash):
{evidence}

Does this evidence answer the question? Reply with JSON only, in exactly this shape:
{{"verdict": "answers" or "partly" or "no", "missing": "<the part of the question the evidence does not cover, in the question's words; empty if none>", "cites": [<the numbers of the passages that answer it>]}}

- "answers": the passages state the answer (the question's subject, and the condition or group it asks about).
- "partly": they answer a related question but not the part named in "missing" (a condition, group, method or setting the question asks about and no passage mentions).
- "no": nothing here answers it.
A question worded differently from the passages is still answered if the passages say what it asks."""


@dataclass
class Judgement:
    """What the judge said, and whether its verdict was kept (``meta.judgement``)."""

    verdict: str  # answers | partly | no | "" (no usable reply)
    missing: str = ""
    cites: list[str] = field(default_factory=list)  # note ids of the passages it named
    kept: bool = False
    why: str = ""  # why a verdict was not kept, or what failed

    def as_meta(self) -> dict:
        return {"verdict": self.verdict, "missing": self.missing, "cites": self.cites, "kept": self.kept,
                "why": self.why}


def passages(evidence: Sequence, titles: dict[str, str]) -> list[tuple[str, str, str]]:
    """(note id, note title, passage) for the judge: the selected sentences' passages in reading order, a
    passage given twice or inside another of the same note merged."""
    out: list[tuple[str, str, str]] = []
    for c in evidence:
        text = " ".join((c.passage or c.text).split())[:MAX_PASSAGE_CHARS]
        if any(n == c.note_id and (text in p or p in text) for n, _, p in out):
            continue
        out.append((c.note_id, titles.get(c.note_id, c.note_id), text))
        if len(out) >= MAX_ITEMS:
            break
    return out


def check(reply: dict, question: str, items: Sequence[tuple[str, str, str]]) -> Judgement:
    """The verdict in ``reply`` (parsed JSON), kept or not by the rules in the module docstring."""
    verdict = str(reply.get("verdict", "")).strip().lower()
    missing = " ".join(str(reply.get("missing") or "").split())
    raw = reply.get("cites") or []
    nums = [n for n in raw if isinstance(n, int) and not isinstance(n, bool)] if isinstance(raw, list) else []
    cites = list(dict.fromkeys(items[n - 1][0] for n in nums if 1 <= n <= len(items)))
    j = Judgement(verdict if verdict in VERDICTS else "", missing, cites)
    if not j.verdict:
        j.why = f"no verdict among {', '.join(VERDICTS)} in the reply"
        return j
    if j.verdict == "answers":
        if not cites:
            j.why = "an 'answers' verdict that cites none of the passages given"
            return j
        j.kept = True
        return j
    asked = content_words(question)
    named = content_words(missing) & asked
    if not named:
        j.why = "'missing' names nothing the question asks"
        return j
    seen: set[str] = set()
    for _, title, p in items:
        seen |= content_words(f"{title} {p}")
    absent = named - seen
    if not absent:
        j.why = "every word 'missing' names is in the evidence"
        return j
    j.kept = True
    return j


class SupportJudge:
    """Asks an LLM (a llama-index LLM, the engine's ``llm`` slot) for a ``Judgement``."""

    def __init__(self, llm, llm_settings=None) -> None:
        self.llm = llm
        self.llm_settings = llm_settings

    def messages(self, question: str, items: Sequence[tuple[str, str, str]]) -> list:
        from llama_index.core.llms import ChatMessage

        evidence = "\n".join(f"[{i}] {title} — {p}" for i, (_, title, p) in enumerate(items, start=1))
        return [ChatMessage(role="system", content=SYSTEM),
                ChatMessage(role="user", content=PROMPT.format(question=question, evidence=evidence))]

    def judge(self, question: str, evidence: Sequence, titles: dict[str, str]) -> Judgement:
        from rag.synthesize.llm_reply import extract_json

        items = passages(evidence, titles)
        if not items:
            return Judgement("", why="no evidence to judge")
        try:
            reply = self.llm.chat(self.messages(question, items)).message.content or ""
        except Exception as e:  # noqa: BLE001 - a failing judge leaves the support as it was, and says why
            return Judgement("", why=f"the LLM failed: {type(e).__name__}: {str(e)[:200]}")
        try:
            obj = extract_json(reply)
        except Exception:  # noqa: BLE001 - unreadable JSON is one reason among others
            return Judgement("", why="the reply held no JSON object")
        return check(obj, question, items)


def apply(support: str, j: Judgement) -> str:
    """The support level after a verdict: a kept ``partly`` or ``no`` makes ``direct`` indirect; everything
    else stays as it is (see the module docstring for why ``answers`` lifts no flag)."""
    if j.kept and j.verdict in ("partly", "no") and support == "direct":
        return "indirect"
    return support
