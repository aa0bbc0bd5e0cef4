"""Next inquiring lines: candidates from the answer's neighbourhood, then checks.

A candidate survives only if it is new (not the question, not a note title, not a near-duplicate of
another line) and the index can take it up: it retrieves a relevant note this answer did not rest on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def _words(text: str) -> set[str]:
    return {w for w in _norm(text).split() if len(w) > 3}


def _jaccard(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / max(1, len(wa | wb))


def _bare(title: str) -> str:
    t = title.strip().rstrip("?.!")
    return t[0].lower() + t[1:] if t[:2].istitle() and not t[:2].isupper() else t


def _topic_of(note: dict) -> str:
    tags = note.get("tags") or []
    return tags[0] if tags else ""


@dataclass
class Proposal:
    text: str
    seed_note: str  # the note that suggested it


def propose(question: str, themes: list[str], cited: list[dict], neighbours: list[dict]) -> list[Proposal]:
    """Candidate lines, most promising first. ``neighbours``: notes near the answer it did not cite
    (linked from cited notes, or retrieved below the cut). Templates read for question titles, statement
    titles and paper titles alike, with or without tags."""
    main = themes[0] if themes else None
    out: list[Proposal] = []
    for i, n in enumerate(neighbours):
        title = " ".join(n["title"].split())
        topic = _topic_of(n)
        if title.endswith("?"):
            if main and topic and topic != main:
                out.append(Proposal(f"{title[:-1]}, and what would that mean for {main}?", n["id"]))
            elif i % 2 == 0:
                out.append(Proposal(f"{title[:-1]}, and does the same explanation hold here?", n["id"]))
            else:
                out.append(Proposal(f"{title[:-1]}, and how does that change the answer above?", n["id"]))
        else:
            short = title if len(title) <= 110 else title[:107].rsplit(" ", 1)[0] + "…"
            if main:
                out.append(Proposal(f"What does \u201c{short}\u201d add to what these notes say about {main}?", n["id"]))
            else:
                out.append(Proposal(f"What does \u201c{short}\u201d add to this answer?", n["id"]))
        if main and topic and topic != main and topic not in themes[:2]:
            out.append(Proposal(f"How does {topic} interact with {main}?", n["id"]))
    for c in cited[1:3]:
        for tag in (c.get("tags") or [])[1:2]:
            if main and tag != main:
                out.append(Proposal(f"Would {main} look different if {tag} were controlled for?", c["id"]))
    seen: set[str] = set()
    uniq = []
    for p in out:
        k = _norm(p.text)
        if k not in seen:
            seen.add(k)
            uniq.append(p)
    return uniq


def check(proposals: list[Proposal], question: str, vecs: np.ndarray, qvec: np.ndarray, titles: set[str],
          answers_new_notes, want: int, max_sim_question: float = 0.92, max_sim_each: float = 0.85) -> list[str]:
    """Keep proposals that are new and answerable. ``answers_new_notes(i)`` says whether proposal i
    retrieves a relevant note the answer did not cite."""
    kept: list[int] = []
    normed_titles = {_norm(t) for t in titles}
    for i, p in enumerate(proposals):
        if len(kept) >= want:
            break
        if _norm(p.text) in normed_titles or _norm(p.text) == _norm(question):
            continue
        if float(vecs[i] @ qvec) >= max_sim_question or _jaccard(p.text, question) >= 0.7:
            continue
        if any(float(vecs[i] @ vecs[j]) >= max_sim_each or _jaccard(p.text, proposals[j].text) >= 0.6 for j in kept):
            continue
        if not answers_new_notes(i):
            continue
        kept.append(i)
    return [proposals[i].text for i in kept]
