"""Reading an LLM's reply: the first JSON object in it, then the inquiring line's parts in the shape the
prompt asks for (framing, paragraphs of sentences with evidence numbers, takeaway). Forgiving about form
(code fences, prose around the JSON, trailing commas, inline "[1]" markers, numbers given as strings), strict
about substance: anything else raises ``InvalidReply``."""

from __future__ import annotations

import json
import re

from rag.evidence import split_sentences


class InvalidReply(ValueError):
    """The LLM's reply is not JSON of the asked-for shape."""


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def extract_json(reply: str) -> dict:
    """The first JSON object in ``reply``: code fences stripped, prose around it ignored, trailing
    commas forgiven. Raises ``InvalidReply``."""
    text = (reply or "").strip()
    if not text:
        raise InvalidReply("the reply was empty")
    fenced = _FENCE.search(text)
    candidates = [fenced.group(1), text] if fenced else [text]
    dec = json.JSONDecoder()
    err = "no JSON object found"
    for t in candidates:
        for m in re.finditer(r"\{", t):
            chunk = t[m.start():]
            for attempt in (chunk, _TRAILING_COMMA.sub(r"\1", chunk)):
                try:
                    obj, _ = dec.raw_decode(attempt)
                except json.JSONDecodeError as e:
                    err = f"invalid JSON ({e.msg} at line {e.lineno} column {e.colno})"
                    continue
                if isinstance(obj, dict):
                    return obj
            break  # only the first '{' of each candidate: a later one is inside the same broken object
    raise InvalidReply(err)


def has_words(text: str) -> bool:
    """More than a placeholder: at least two words of letters outside <angle brackets>."""
    return len(re.findall(r"[^\W\d_]{2,}", re.sub(r"<[^>]*>", " ", text))) >= 2


def cite_numbers(raw) -> list:
    """Citation entries as ints where they are numbers ("1", "[1]", 1.0), else as given (invalid)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raw = [raw]
    out: list = []
    for c in raw:
        if isinstance(c, bool):
            out.append(c)
        elif isinstance(c, int):
            out.append(c)
        elif isinstance(c, float) and c.is_integer():
            out.append(int(c))
        elif isinstance(c, str) and re.fullmatch(r"\s*\[?\s*\d+\s*\]?\s*", c):
            out.append(int(re.sub(r"\D", "", c)))
        elif isinstance(c, str) and re.fullmatch(r"[\d\s,;\[\]]+", c):
            out += [int(x) for x in re.findall(r"\d+", c)]
        else:
            out.append(c)
    return out


def inline(text: str) -> tuple[str, list[int]]:
    """Text with inline markers like "[1]" / "[2, 3]" removed, and the numbers they held."""
    nums = [int(x) for m in _MARKER.finditer(text) for x in re.findall(r"\d+", m.group(1))]
    clean = _MARKER.sub("", text)
    clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
    return " ".join(clean.split()), nums


KINDS = ("finding", "connection")


class ParsedSentence(tuple):
    """(text, raw cites), equal to that pair, with the sentence's ``kind`` as the LLM labelled it ("finding",
    "connection", or None when it gave none or something else)."""

    kind: str | None

    def __new__(cls, text: str, cites: list, kind: str | None = None) -> "ParsedSentence":
        obj = super().__new__(cls, (text, cites))
        obj.kind = kind
        return obj


def _kind(raw) -> str | None:
    k = raw.strip().lower() if isinstance(raw, str) else None
    return k if k in KINDS else None


def _sentences(p) -> list[tuple[str, list]]:
    if isinstance(p, dict):
        p = p.get("sentences", p.get("text", []))
    if isinstance(p, str):
        p = split_sentences(p)
    if not isinstance(p, list):
        raise InvalidReply("a paragraph is neither an object with \"sentences\" nor a list")
    out = []
    for s in p:
        kind = None
        if isinstance(s, str):
            text, cites = s, []
        elif isinstance(s, dict):
            kind = _kind(s.get("kind", s.get("type")))
            text = s.get("text", s.get("sentence", ""))
            cites = cite_numbers(s.get("cites", s.get("citations", [])))
            if not isinstance(text, str):
                raise InvalidReply("a sentence's \"text\" is not a string")
        else:
            raise InvalidReply("a sentence is neither an object nor a string")
        text, marked = inline(text)
        if re.search(r"[^\W\d_]", re.sub(r"<[^>]*>", "", text)):  # "..." or "<a finding>" is no sentence
            out.append(ParsedSentence(text, cites + [n for n in marked if n not in cites], kind))
    return out


def parse_reply(obj: dict) -> tuple[str, list[list[tuple[str, list]]], str, list]:
    """(framing, paragraphs as lists of (text, raw cites), takeaway, takeaway cites). Raises InvalidReply."""
    paras = obj.get("paragraphs")
    if not isinstance(paras, list) or not paras:
        raise InvalidReply("the JSON has no \"paragraphs\" list")
    paragraphs = [s for s in (_sentences(p) for p in paras) if s]
    if not paragraphs:
        raise InvalidReply("the paragraphs hold no sentences")
    framing = obj.get("framing") if isinstance(obj.get("framing"), str) else ""
    takeaway = obj.get("takeaway") if isinstance(obj.get("takeaway"), str) else ""
    framing, _ = inline(framing)
    takeaway, tk = inline(takeaway)
    tk = cite_numbers(obj.get("takeaway_cites", [])) + tk
    return framing, paragraphs, takeaway, tk
