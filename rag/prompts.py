"""Every prompt the LLM synthesizer sends, as data.

Each template is a ``str.format`` string with named fields; ``TEMPLATES`` declares, for each, the
exact set of fields it needs, and that declaration is checked against the text with
``string.Formatter`` when this module is imported: a template that gains, loses or misspells a field
fails at import, not in the middle of an answer. ``render(name, **values)`` fills one template and
refuses missing or unexpected values. Literal braces (the JSON shape) are written ``{{`` ``}}``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from rag.answer import FRAMING_LEAD, TAKEAWAY_LEAD  # noqa: F401 - the prompt asks for the contract's leads

SYSTEM = (
    "You write short research syntheses from numbered evidence taken from a knowledge base of research "
    "notes. You use only the evidence you are given, you cite it by its numbers, and you reply with one "
    "JSON object and nothing else."
)

# One numbered evidence item as the LLM sees it.
EVIDENCE_ITEM = "[{n}] {title} — {text}"

ANSWER = """Question: {question}

Evidence (numbered passages; each is from the note named before the dash):
{evidence}

Write an inquiring line that answers the question from this evidence. Reply with JSON only, in exactly this shape:
{{"framing": "{framing_lead} <what the question turns on>",
 "paragraphs": [{{"sentences": [{{"text": "<a sentence, in your words>", "cites": [<evidence numbers>], "kind": "finding" or "connection"}}, ...]}}, ...],
 "takeaway": "{takeaway_lead} <what follows from the findings together, and where the lever is>",
 "takeaway_cites": [<evidence numbers>]}}

The structure:
- "framing": one sentence that starts with "{framing_lead}" and reads the question: the concept or tension it turns on. If the evidence contradicts what the question assumes, say so here.
- The first paragraph answers the question directly, with the most direct evidence first (if the question's premise is wrong, its first sentence corrects it, citing the passage that does).
- The next 1 to 3 paragraphs connect the findings across notes: how they agree, extend, qualify or contrast with each other, not one note after another.
- "takeaway": one sentence that starts with "{takeaway_lead}", says what follows when the findings are taken together, and names the lever (what would change the outcome).

Each sentence has a "kind":
- "finding": states what a passage found. It cites, in "cites", the evidence numbers it rests on, and says no more than they do: the same numbers, the same direction of effect, the same strength ("some", "may", "in one study" stay as they are; never "all", "always", "proves" unless the passage says so).
- "connection": relates findings or draws what follows from them. It may have "cites": [] or cite the passages it connects, and it adds no fact: no name, number or result that is not in the evidence or in your findings.

Rules:
- Cite only the numbers given above ({numbers}). Never cite a number that is not listed.
- State only what the evidence says: no invented facts, numbers, names or results. Do not put citation marks like [1] inside "text".
- Output the JSON object only: no Markdown, no code fences, no comments."""

REPAIR = """Your reply could not be used: {error}.
Reply again with only the JSON object in the shape asked for ({{"framing": ..., "paragraphs": [{{"sentences": [{{"text": ..., "cites": [...], "kind": "finding" or "connection"}}]}}], "takeaway": ..., "takeaway_cites": [...]}}), citing only the numbers {numbers}. No other text."""

# name -> (template, the fields it needs)
TEMPLATES: dict[str, tuple[str, frozenset[str]]] = {
    "system": (SYSTEM, frozenset()),
    "evidence_item": (EVIDENCE_ITEM, frozenset({"n", "title", "text"})),
    "answer": (ANSWER, frozenset({"question", "evidence", "numbers", "framing_lead", "takeaway_lead"})),
    "repair": (REPAIR, frozenset({"error", "numbers"})),
}

# The JSON shape the answer prompt asks for, as a JSON Schema (used where a backend can constrain
# its output to a schema, e.g. a llama.cpp grammar; the length caps keep a looping model from running
# one string on until it hits max_tokens).
ANSWER_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "framing": {"type": "string", "maxLength": 300},
        "paragraphs": {
            "type": "array",
            "minItems": 1,
            "maxItems": 4,
            "items": {
                "type": "object",
                "properties": {
                    "sentences": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 4,
                        "items": {
                            "type": "object",
                            "properties": {
                                "text": {"type": "string", "maxLength": 400},
                                "cites": {"type": "array", "items": {"type": "integer"}, "maxItems": 4},
                                "kind": {"type": "string", "enum": ["finding", "connection"]},
                            },
                            "required": ["text", "cites"],
                        },
                    }
                },
                "required": ["sentences"],
            },
        },
        "takeaway": {"type": "string", "maxLength": 300},
        "takeaway_cites": {"type": "array", "items": {"type": "integer"}, "maxItems": 4},
    },
    "required": ["framing", "paragraphs", "takeaway"],
}


class PromptError(ValueError):
    """A template and its declared fields disagree, or it was rendered with the wrong values."""


def fields_of(template: str) -> set[str]:
    """The named fields a format string uses (``{x}``, ``{x!r}``, ``{x:>3}``); positional fields are errors."""
    out: set[str] = set()
    for _, field, spec, _ in string.Formatter().parse(template):
        if field is None:
            continue
        name = field.split(".", 1)[0].split("[", 1)[0]
        if not name or name.isdigit():
            raise PromptError(f"template uses a positional field {{{field}}}; name every field")
        out.add(name)
        if spec:
            out |= fields_of(spec)
    return out


def check(templates: Mapping[str, tuple[str, frozenset[str]]] = TEMPLATES) -> None:
    """Raise ``PromptError`` if any template's fields differ from its declaration."""
    for name, (text, declared) in templates.items():
        used = fields_of(text)
        if used != set(declared):
            missing, extra = sorted(set(declared) - used), sorted(used - set(declared))
            raise PromptError(f"prompt {name!r}: declared fields {sorted(declared)} but the text uses {sorted(used)}"
                              + (f"; not used: {missing}" if missing else "")
                              + (f"; undeclared: {extra}" if extra else ""))


def render(name: str, **values: object) -> str:
    """Fill template ``name``; the values must be exactly its declared fields."""
    try:
        text, declared = TEMPLATES[name]
    except KeyError:
        raise PromptError(f"no prompt named {name!r} (have: {', '.join(sorted(TEMPLATES))})") from None
    got = set(values)
    if got != set(declared):
        raise PromptError(f"prompt {name!r} needs {sorted(declared)}, got {sorted(got)}")
    return text.format(**values)


check()  # at import: a template out of step with its declaration never ships
