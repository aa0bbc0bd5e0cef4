"""The default synthesizer: no LLM. It composes the inquiring line from the selected evidence
sentences, quoting each finding as its note states it (so every finding is cited and grounded by
construction), and writes only the connective tissue itself: the framing, lead-ins between
findings, and the takeaway's frame."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from rag.answer import Paragraph, Sentence
from rag.evidence import Candidate
from rag.synthesize import INDIRECT, Context, Draft

# Words that may be lower-cased when a lead-in is put before a sentence that starts with them.
_LOWERABLE = set("""a an the in on at for from to by with without when while if although though as after before
this that these those it its they their there here models model language large llms most many some more
across both each every one two three several such training trained people humans researchers studies
study work evidence results analysis experiments testing asking giving using adding under over
""".split())

_LEVER = re.compile(r"\b(reduces?|reduced|mitigat\w*|prevents?|reverses?|reversed|reversing|only when|only works when|"
                    r"unless|restores?|counteracts?|remed\w*|cuts?)\b", re.I)
_NEGATED = re.compile(r"\b(not|no|never|fail\w*|without|cannot)\b", re.I)

_QWORDS = {"why", "how", "what", "which", "when", "where", "who", "whether"}
_AUX = {"do", "does", "did", "is", "are", "was", "were", "can", "could", "will", "would", "should", "has", "have",
        "had", "may", "might", "must"}


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def lead_in(lead: tuple[str, str], sentence: str) -> str:
    """A connective before a quoted finding: the clause form ("What widens the picture is that x …")
    when the sentence's first word can safely be lower-cased, else the colon form ("…: Huang et al …")."""
    clause, colon = lead
    first = sentence.split(" ", 1)[0]
    bare = re.sub(r"\W", "", first)
    if bare.lower() in _LOWERABLE and bare[:1].isupper() and (len(bare) == 1 or bare[1:].islower()):
        return f"{clause} {sentence[0].lower()}{sentence[1:]}"
    return f"{colon} {sentence}"


DIRECT = ("The most direct evidence is that", "The most direct evidence:")
NEAREST = ("The nearest finding is that", "The nearest finding:")
WIDEN = [("What widens the picture is that", "What widens the picture:"),
         ("A second line of evidence shows that", "A second line of evidence:")]
RELATED = [("A related finding is that", "A related finding:"),
           ("Seen from another side,", "Seen from another side:"),
           ("Alongside this,", "Alongside this:"),
           ("In the same vein,", "In the same vein:")]


def question_clause(q: str) -> str:
    """The question as a clause after "This explores": 'Why do models resist X?' → 'why models resist X'.
    Where moving words would risk bad grammar, the question is quoted whole instead."""
    q = " ".join(q.strip().split())
    words = q.rstrip("?.! ").split()
    if len(words) >= 3:
        w0, w1 = words[0].lower(), words[1].lower()
        if w0 in _QWORDS and w1 == "do":  # plural agreement survives dropping "do"
            return " ".join([w0] + words[2:])
        if w0 in _QWORDS and w1 not in _AUX:  # "what happens when …", "which models …"
            return " ".join([w0] + words[1:])
    return f"a question ({q if q.endswith('?') else q + '?'})"


class ExtractiveSynthesizer:
    name = "extractive"

    def synthesize(self, ctx: Context) -> Draft:
        titles = {n["id"]: n["title"] for n in ctx.notes}
        themes = ctx.themes
        clause = question_clause(ctx.question)
        n_notes = len({c.note_id for c in ctx.evidence})
        theme_txt = _join(themes[:3])
        if ctx.indirect:
            framing = f"This explores {clause}. {INDIRECT}"
        elif theme_txt:
            framing = (f"This explores {clause}, reading it through what the notes record on {theme_txt}: "
                       f"which findings bear on it directly, and what follows when they are taken together.")
        else:
            framing = (f"This explores {clause}, reading it through the {n_notes} notes that bear on it most "
                       f"directly, and what follows when their findings are taken together.")

        # group the evidence by note, notes in order of their best sentence
        groups: dict[str, list[Candidate]] = {}
        for c in ctx.evidence:
            groups.setdefault(c.note_id, []).append(c)
        order = list(groups)
        paragraphs: list[Paragraph] = []
        # paragraph 1: the reading and the most direct evidence
        top = order[0]
        p1: list[Sentence] = []
        focus = themes[0] if themes else None
        if focus:
            nearest = "the nearest" if ctx.indirect else "the most direct"
            p1.append(Sentence(text=f"This reads the question as being about {focus}, and {nearest} "
                                    f"evidence comes from one finding.", cites=[]))
        for i, c in enumerate(groups[top]):
            text = lead_in(NEAREST if ctx.indirect else DIRECT, c.text) if i == 0 and not focus else c.text
            p1.append(Sentence(text=text, cites=[c.note_id], quote=c.passage, page=c.page))
        paragraphs.append(Paragraph(sentences=p1))
        # later paragraphs: one or two notes each, with connectives that say how they relate
        rest = order[1:]
        chunks_of_rest = [rest[i:i + 2] for i in range(0, len(rest), 2)][:3]
        for pi, group_ids in enumerate(chunks_of_rest):
            sents: list[Sentence] = []
            for gi, nid in enumerate(group_ids):
                for si, c in enumerate(groups[nid]):
                    if si == 0:
                        lead = WIDEN[pi] if gi == 0 and pi < 2 else RELATED[(pi + gi) % len(RELATED)]
                        text = lead_in(lead, c.text)
                    else:
                        text = c.text
                    sents.append(Sentence(text=text, cites=[nid], quote=c.passage, page=c.page))
            paragraphs.append(Paragraph(sentences=sents))
        takeaway, tk_cites = self._takeaway(ctx, themes, titles, order)
        return Draft(framing=framing, paragraphs=paragraphs, takeaway=takeaway, takeaway_cites=tk_cites,
                     model="extractive")

    def _takeaway(self, ctx: Context, themes: list[str], titles: dict[str, str], order: list[str]) -> tuple[str, list[str]]:
        used = {id(c) for c in ctx.evidence}
        cited = set(order)
        n = len(order)
        if n >= 2:
            across = (f"read together, these {n} notes describe one pattern from several sides"
                      + (f" ({_join(themes[:3])})" if themes else "")
                      + ", so the answer rests on where they agree rather than on any single result")
        else:
            across = "this rests on a single note, so treat it as one finding rather than a settled pattern"
        # the lever: an unused sentence from a cited note that says what reduces, reverses or fixes the effect
        def is_lever(c: Candidate) -> bool:
            return bool(_LEVER.search(c.text)) and not _NEGATED.search(c.text) and not c.dangling

        floor = min(c.relevance for c in ctx.evidence) if ctx.evidence else 0.0
        levers = [c for c in ctx.pool if id(c) not in used and c.note_id in cited and is_lever(c) and c.relevance >= floor]
        if levers:
            lv = max(levers, key=lambda c: c.relevance)
            return f"{across}. Where the lever is: {lv.text}", [lv.note_id]
        # else the most central finding: the evidence sentence closest to all the others
        # else the most central self-contained finding not yet quoted: closest to all the evidence
        pool = [c for c in ctx.pool if id(c) not in used and c.note_id in cited and not c.dangling
                and not c.linked and c.relevance >= floor]
        if pool and len(ctx.evidence) >= 2:
            ev = np.stack([c.vec for c in ctx.evidence])
            c = max(pool, key=lambda c: float((ev @ c.vec).mean()))
            return f"{across}. The finding they circle: {c.text}", [c.note_id]
        return f"{across}.", []

    def stream(self, ctx: Context) -> Iterator[str]:
        yield ""  # the extractive synthesizer is fast; the page renders the finished line
