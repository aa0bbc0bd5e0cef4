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

FRAMING_LEAD = "This explores"
TAKEAWAY_LEAD = "The thing worth taking away:"

SYSTEM = (
    "You write short research syntheses from numbered evidence taken from a knowledge base of research "
    "notes. You use only the evidence you are given, you cite it by its numbers, and you reply with one "
    "JSON object and nothing else."
)

# One numbered evidence item as the LLM sees it.
EVIDENCE_ITEM = "[{n}] {title} — {text}"

ANSWER = """Question: {question}

Evidence (numbered; each item is a finding from the note named before the dash):
{evidence}

Write an inquiring line that answers the question from this evidence. Reply with JSON only, in exactly this shape:
{{"framing": "{framing_lead} <what the question is really asking>",
 "paragraphs": [{{"sentences": [{{"text": "<a finding, in your words>", "cites": [<evidence numbers>]}}, ...]}}, ...],
 "takeaway": "{takeaway_lead} <what follows from the findings together>"}}

Rules:
- "framing" is one sentence that starts with "{framing_lead}" and says what the question is really asking.
- Write 2 to 4 paragraphs. Connect the findings across notes: say how they agree, extend or qualify each other, not one note after another.
- Every sentence that states a finding cites, in "cites", the evidence numbers it rests on. A sentence that only connects or frames may have "cites": [].
- Cite only the numbers given above ({numbers}). Never cite a number that is not listed.
- State only what the evidence says: no invented facts, numbers, names or results. Do not put citation marks like [1] inside "text".
- "takeaway" is one sentence that starts with "{takeaway_lead}" and says what follows when the findings are taken together.
- Output the JSON object only: no Markdown, no code fences, no comments."""

REPAIR = """Your reply could not be used: {error}.
Reply again with only the JSON object in the shape asked for ({{"framing": ..., "paragraphs": [{{"sentences": [{{"text": ..., "cites": [...]}}]}}], "takeaway": ...}}), citing only the numbers {numbers}. No other text."""

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
                            },
                            "required": ["text", "cites"],
                        },
                    }
                },
                "required": ["sentences"],
            },
        },
        "takeaway": {"type": "string", "maxLength": 300},
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
