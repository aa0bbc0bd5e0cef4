"""Renderings of one InquiringLine: the exact text format of FORMAT.md, Markdown, JSON."""

from __future__ import annotations

import re

from rag.answer import TAKEAWAY_LEAD, InquiringLine, Sentence


def _with_citation(s: Sentence, cite_text: list[str]) -> str:
    """A sentence with its citations placed before its closing punctuation, as in the format's example."""
    text = s.text.rstrip()
    if not cite_text:
        return text
    m = re.search(r"([.!?]+[\"'”’)]*)$", text)
    end = ""
    if m:
        end = m.group(1)
        text = text[: m.start()]
    # a title that ends in its own punctuation keeps it, and the sentence's end follows
    return f"{text} {'; '.join(cite_text)}{end or '.'}"


def _takeaway(line: InquiringLine, cite_text: list[str] | None = None) -> str:
    t = line.takeaway.strip()
    if cite_text:
        t = _with_citation(Sentence(text=t), cite_text)
    return t if t.startswith(TAKEAWAY_LEAD) else f"{TAKEAWAY_LEAD} {t}"


def _cite_titles(s: Sentence, titles: dict[str, str]) -> list[str]:
    """The cited titles; a passage from a PDF page carries its page ("Title, p. 3") on its first citation."""
    out = [titles[c] for c in s.cites]
    if s.page and out:
        out[0] = f"{out[0]}, p. {s.page}"
    return out


def to_text(line: InquiringLine) -> str:
    """The plain-text inquiring line, laid out exactly as FORMAT.md and its example."""
    titles = {s.id: s.title for s in line.sources}
    parts = ["INQUIRING LINE", line.question.strip(), line.framing.strip()]
    paras = [" ".join(_with_citation(s, _cite_titles(s, titles)) for s in p.sentences) for p in line.paragraphs]
    takeaway = _takeaway(line, [titles[c] for c in line.takeaway_cites])
    out = "\n\n".join(parts) + "\n\n\n" + "\n\n".join(paras + [takeaway])
    out += f"\n\n\nSources {len(line.sources)} note{'s' if len(line.sources) != 1 else ''}"
    for s in line.sources:
        out += f"\n\n{s.title}\n\n{s.summary}"
    out += "\n\nNext inquiring lines"
    if line.next_lines:
        out += "\n\n" + "\n".join(line.next_lines)
    return out + "\n"


def slug(text: str) -> str:
    s = re.sub(r"[^\w\s-]", "", text.lower()).strip()
    return re.sub(r"[\s_]+", "-", s)


def md_escape(text: str) -> str:
    """Note text shown as text: no raw HTML, no accidental links or emphasis from a note's characters."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]#|~$])", r"\\\1", text)


def to_markdown(line: InquiringLine) -> str:
    """Markdown: citations are links to the source entries below (``#src-N`` anchors by title)."""
    anchors = {s.id: f"#{slug(s.title)}" for s in line.sources}
    titles = {s.id: s.title for s in line.sources}
    paras = []
    for p in line.paragraphs:
        sents = []
        for s in p.sentences:
            links = [f"[{md_escape(t)}]({anchors[c]})" for c, t in zip(s.cites, _cite_titles(s, titles))]
            sents.append(_with_citation(Sentence(text=md_escape(s.text)), links))
        paras.append(" ".join(sents))
    out = [f"# {md_escape(line.question.strip())}", f"*{md_escape(line.framing.strip())}*", *paras]
    body = line.takeaway.strip()
    if body.startswith(TAKEAWAY_LEAD):
        body = body[len(TAKEAWAY_LEAD):].strip()
    links = [f"[{md_escape(titles[c])}]({anchors[c]})" for c in line.takeaway_cites]
    out.append(f"**{TAKEAWAY_LEAD}** " + _with_citation(Sentence(text=md_escape(body)), links))
    out.append(f"## Sources ({len(line.sources)} note{'s' if len(line.sources) != 1 else ''})")
    for s in line.sources:
        out.append(f"### {md_escape(s.title)}\n\n{md_escape(s.summary)}")
    out.append("## Next inquiring lines")
    if line.next_lines:
        out.append("\n".join(f"- {md_escape(q)}" for q in line.next_lines))
    return "\n\n".join(out) + "\n"


def to_json(line: InquiringLine, indent: int | None = 2) -> str:
    return line.to_json(indent=indent)


RENDERERS = {"text": to_text, "markdown": to_markdown, "json": to_json}


def render(line: InquiringLine, fmt: str) -> str:
    try:
        return RENDERERS[fmt](line)
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(RENDERERS)}") from None
