"""Sentence-level evidence: split the retrieved notes into sentences, score each for relevance to
the question, then pick a diverse set that covers several notes (maximal marginal relevance with a
per-note cap)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ingest.readers import WIKILINK

_ABBREV = re.compile(r"\b(e\.g|i\.e|et al|vs|cf|fig|eq|approx|no|Dr|Mr|Ms|Prof|resp|etc)\.", re.I)
_SPLIT = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])")
# sentences that lean on context they would lose when quoted alone
_DANGLING = re.compile(r"^(it|its|this|that|these|those|they|their|such|together|both|here|there|the same|similarly|"
                       r"however|but|and|also|so|thus|hence|the (remaining|rest|other|latter|former)|either way|"
                       r"in (both|either|each) cases?|even so|instead|likewise|otherwise|in contrast|by contrast|"
                       r"in turn|on the other hand|yet|"
                       r"the (two|three|four|five|six) (models|studies|notes|papers|results|conditions))\b", re.I)
# an answer to a question the sentence before it asked, cut to its auxiliary: "For several RLHF models it did:
# verbalised confidences …", "In most runs they did not; …" lean on that question as much as an opening "it" does
_ELLIPTICAL = re.compile(r"^[^.:;?!]{0,60}?\b(?:it|they|this|that|he|she)\s+(?:did|does|do|was|were|is|are|can|"
                         r"could|would|will|had|has|have)(?:\s+not|n't)?\s*[:;,\u2013\u2014]", re.I)


def leans_on_context(sentence: str) -> bool:
    """Whether a sentence quoted alone would lose what it refers to: an opening "it", "however", "the two
    models", or an elliptical answer ("… it did: …")."""
    return bool(_DANGLING.match(sentence) or _ELLIPTICAL.match(sentence))


# a sentence that reports a result rather than a set-up: a figure, a comparison, a reporting verb
_FINDING = re.compile(r"\d|%|\b(found|finds|showed|shows|increas\w*|decreas\w*|reduc\w*|rais\w*|doubl\w*|"
                      r"more|less|fewer|higher|lower|than|rose|fell|drop\w*|grew|outperform\w*)\b", re.I)
_SKIP_HEADINGS = {"related", "see also", "links", "references", "backlinks"}
# structured-abstract labels ("RESULTS: …", "METHODS: …"): the label is dropped from the quoted sentence, and
# set-up sections (background, methods, objectives) weigh less than results, for the same reason as _FINDING
_LABEL = re.compile(r"^([A-Z][A-Z ]{2,40}):\s+(?=\S)")
_SETUP = re.compile(r"background|method|material|objective|purpose|design|setting|introduction|measure|patient|"
                    r"participant|\baims?\b|intervention|subject|context", re.I)
_RESULT = re.compile(r"result|finding|conclusion|interpretation|discussion", re.I)


def section_kind(label: str) -> str:
    """"result", "setup" or "" for a section label or heading."""
    if _RESULT.search(label):
        return "result"
    return "setup" if _SETUP.search(label) else ""


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage; abbreviations (e.g., et al.) and decimals do not end a sentence."""
    text = " ".join(text.split())
    if not text:
        return []
    guarded = _ABBREV.sub(lambda m: m.group(0).replace(".", "\x00"), text)
    parts = _SPLIT.split(guarded)
    return [p.replace("\x00", ".").strip() for p in parts if p.strip()]


@dataclass
class Candidate:
    text: str
    note_id: str
    chunk_id: str
    passage: str
    from_summary: bool
    note_rank: int
    position: int = 0  # order within its note (summary first, then chunks in note order)
    relevance: float = 0.0
    vec: np.ndarray | None = None
    page: int | None = None  # the PDF page the sentence is on
    best_chunk: bool = False  # from the chunk of its note that matched the question best
    chunk_rank: int = -1  # how well its chunk matched the question within its note (0 best; -1 summary)
    linked: bool = False  # the sentence leans on [[links]] to other notes
    dangling: bool = False  # starts with a pronoun or connective that needs context
    section: str = ""  # "result" or "setup" by its structured-abstract label or chunk heading
    labelled: bool = False  # the section comes from the sentence's own label ("METHODS: …")
    heading: str = ""  # the heading of the section it is in ("Why it matters", "Evidence"; "" for a summary)
    link_ids: list[str] = field(default_factory=list)  # notes its [[links]] name (their titles are in the text)
    linking: bool = False  # it links to another note the answer cites: the note's own connection between them
    repaired: bool = False  # it opened on a reference ("This …") and carries the sentence before it
    fit: float = 0.0  # how well it has the form of answer the question asks for (a cause, a number, …)
    asked: bool = False  # a set-up sentence the question asks about ("which model was fine-tuned on …"): the answer

    @property
    def labelled_setup(self) -> bool:
        return self.labelled and self.section == "setup"


MAX_JOINED_WORDS = 70  # a sentence repaired with the one before it stays a quotable length


def _usable_pair(prev: str, sentence: str) -> bool:
    """Whether ``prev`` can be quoted before ``sentence`` to resolve its opening reference."""
    return len(prev.split()) + len(sentence.split()) <= MAX_JOINED_WORDS and not leans_on_context(prev) \
        and not prev.rstrip().endswith(":")


# navigation, not a finding: "For more on X, see [[y]]"
_POINTER = re.compile(r"\bsee(?: also)?\s+(?:\[\[|\u201c|\")", re.I)


def _usable(sentence: str) -> bool:
    if _POINTER.search(sentence):
        return False
    words = sentence.split()
    if len(words) < 6 or len(words) > 70:
        return False
    if sentence.startswith(("-", "*", "|", "#", "[[")) or sentence.endswith(":"):
        return False
    letters = sum(ch.isalpha() for ch in sentence)
    return letters >= 0.6 * len(sentence.replace(" ", ""))


# a [[link]] → (the id of the note it names, or None when that note may be read but not cited; its title)
LinkTitles = Callable[[str], tuple[str | None, str] | None]


def render_links(text: str, link_title: LinkTitles | None) -> tuple[str, list[str]]:
    """``[[slug]]`` → the linked note's title in quotes, and the ids of the notes linked; a link that names no
    note keeps its shown text (``[[slug|shown]]``) or its words."""
    ids: list[str] = []

    def sub(m: re.Match) -> str:
        hit = link_title(m.group(1).strip()) if link_title else None
        if hit is None:
            return (m.group(2) or m.group(1).replace("-", " ")).strip()
        nid, title = hit
        if nid is not None and nid not in ids:
            ids.append(nid)
        return m.group(2).strip() if m.group(2) else f"“{title.strip()}”"

    return WIKILINK.sub(sub, text), ids


def passages(note: dict, chunks: list[dict], link_title: LinkTitles | None = None) -> list[str]:
    """A note's whole text as passages: its summary and each section's body, links read as titles, link lists
    left out (what a sentence citing the note is checked against)."""
    out = [" ".join(note.get("summary", "").split())] if note.get("summary") else []
    for ch in chunks:
        if ch["heading"].strip().lower() in _SKIP_HEADINGS or ch["heading"] == "Summary":
            continue
        p = " ".join(render_links(ch["passage"], link_title)[0].split())
        if p and p not in out:
            out.append(p)
    return out


def candidates(notes: list[dict], chunks_by_note: dict[str, list[dict]], chunk_order: dict[str, list[str]],
               per_note: int = 24, per_chunk: int = 12, link_title: LinkTitles | None = None) -> list[Candidate]:
    """Sentences from each note's summary, then from its chunks (best-matching chunks first, at most
    ``per_chunk`` from each, so a long paper offers its second-best passage too). A ``[[link]]`` reads as the
    linked note's title (``link_title`` resolves it) and the sentence names that note in ``link_ids``; a
    sentence that opens on a reference ("This was shown …") carries the sentence before it, quoted whole."""
    out: list[Candidate] = []
    for rank, note in enumerate(notes):
        nid = note["id"]
        seen: set[str] = set()
        mine: list[Candidate] = []
        chunks = chunks_by_note.get(nid, [])
        summary = " ".join(note.get("summary", "").split())
        first = " ".join(chunks[0]["passage"].split()) if chunks else ""
        # the body's opening standing in for a summary (it was not embedded as a Summary section of its own)
        derived = bool(summary) and bool(chunks) and chunks[0]["heading"] != "Summary" and first.startswith(summary[:60])
        for j, s in enumerate([] if derived else split_sentences(note.get("summary", ""))):
            key = s.lower()
            if _usable(s) and key not in seen:
                seen.add(key)
                mine.append(Candidate(s, nid, f"{nid}::summary", note.get("summary", ""), True, rank, position=j))
        by_id = {c["id"]: c for c in chunks_by_note.get(nid, [])}
        order = [cid for cid in chunk_order.get(nid, []) if cid in by_id]
        best_chunk = order[0] if order else None
        order += [c["id"] for c in chunks_by_note.get(nid, []) if c["id"] not in order]
        for crank, cid in enumerate(order):
            ch = by_id[cid]
            if ch["heading"].strip().lower() in _SKIP_HEADINGS or ch["heading"] == "Summary":
                continue
            passage = render_links(ch["passage"], link_title)[0]
            kind, labelled = section_kind(ch["heading"] or ""), False
            taken = 0
            prev_raw = ""
            for j, raw in enumerate(split_sentences(ch["passage"])):
                s, links = render_links(raw, link_title)
                joined = False
                if leans_on_context(s) and prev_raw and _usable_pair(prev_raw, raw):
                    s, links2 = render_links(f"{prev_raw} {raw}", link_title)
                    links = list(dict.fromkeys(links2))
                    joined = True
                prev_raw = raw
                m = _LABEL.match(s)
                if m and section_kind(m.group(1)):  # a label opens a section that runs until the next one
                    # ("RLHF: …" is not a label: only section names are)
                    kind, labelled = section_kind(m.group(1)), True
                    s = s[m.end():]
                key = s.lower()
                if _usable(s) and key not in seen and taken < per_chunk:
                    seen.add(key)
                    taken += 1
                    mine.append(Candidate(s, nid, cid, passage, False, rank,
                                          position=1000 + 100 * int(ch["ord"]) + j, linked=bool(WIKILINK.search(raw)),
                                          heading=ch["heading"] or "", link_ids=[i for i in links if i != nid],
                                          repaired=joined,
                                          page=ch.get("page"), best_chunk=cid == best_chunk, chunk_rank=crank,
                                          section=kind, labelled=labelled))
        for c in mine:
            c.dangling = leans_on_context(c.text) and not c.repaired
        out += mine[:per_note]
    return out


def preselect(cands: list[Candidate], question: str, keep: int = 24, per_note: int = 2) -> list[Candidate]:
    """A cheap first cut before any sentence is embedded: content-word overlap with the question, a lift for
    summary and opening sentences, the note's rank; each note keeps its ``per_note`` best so coverage stays."""
    from rag.text import content_words

    q = content_words(question)

    def cheap(c: Candidate) -> float:
        w = content_words(c.text)
        overlap = len(q & w) / (len(q) or 1)
        w = PRESELECT
        return overlap + (w["summary"] if c.from_summary else 0.0) + (w["finding"] if _FINDING.search(c.text) else 0.0) \
            + (w["best_chunk"] if c.best_chunk else 0.0) + (w["result"] if c.section == "result" else 0.0) \
            - (w["setup"] if c.section == "setup" else 0.0) - w["per_rank"] * c.note_rank \
            - (w["dangling"] if c.dangling else 0.0) - (w["linked"] if c.linked else 0.0)

    ranked = sorted(cands, key=cheap, reverse=True)
    chosen: list[Candidate] = []
    count: dict[str, int] = {}
    # the top note's two best-matching passages each keep their best sentence (see select)
    for crank in (0, 1):
        c = next((c for c in ranked if c.note_rank == 0 and c.chunk_rank == crank), None)
        if c is not None:
            chosen.append(c)
            count[c.note_id] = count.get(c.note_id, 0) + 1
    for c in ranked:  # every note's best few first
        if c in chosen:
            continue
        if count.get(c.note_id, 0) < per_note:
            chosen.append(c)
            count[c.note_id] = count.get(c.note_id, 0) + 1
    for c in ranked:
        if len(chosen) >= keep:
            break
        if c not in chosen:
            chosen.append(c)
    return chosen[:max(keep, len(count) * per_note)]


# what an answer of each form contains: a cause, a number, a condition, a mechanism, a result with a direction
_FORM = {
    "why": re.compile(r"\b(because|due to|driven by|drives?|explain\w*|caus\w*|reasons?|motiv\w*|so that|leads? to|"
                      r"led to|as a result|stems? from|aris\w*|mechanism|in order to|aversion|incentiv\w*|"
                      r"rewarded|reward\w* for|so as to|to protect|to avoid|reflects?|attribut\w* to|accounts? for|"
                      r"owing to|because of|result of)\b", re.I),
    "quantity": re.compile(r"\d|%|\b(twice|half|double\w*|triple\w*|fold|times|majority|minority|most|few|"
                           r"rarely|often|none|all|one in|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                           r"twelve|twenty|thirty|fifty|hundreds?|thousands?|dozens?)\b", re.I),
    "condition": re.compile(r"\b(when|whenever|if|only|unless|once|under|after|depend\w*|condition\w*|as long as|"
                            r"provided)\b", re.I),
    "how": re.compile(r"\b(by|through|via|mechanism|process|steps?|learn\w*|because|generaliz\w*|generalis\w*)\b",
                      re.I),
}
_SETUP_VERBS = (r"gave|ran|tested|trained|asked|placed|used|built|studied|prompted|fine-tuned|evaluated|"
                r"measured|created|constructed|designed|compared|benchmarked|varied|told|put|set up|"
                r"introduced|extended|applied|generated|received|was given|were given|was told|were told|"
                r"drew|sampled|recruited|collected|fine-tuned|probed|surveyed|worked through|"
                r"were warned|was warned|were asked|was asked|did not stop at|went further|acted as an?|"
                r"played|role-played|was placed|were placed|deployed|planted|inserted|checked")
_SETUP_VERB = re.compile(r"^(?:[A-Z][\w.\-]*(?: (?:et al\.|and [A-Z]\w+))?(?: \([^)]*\))?,? )?(?:[\w.\-]+,? ){0,5}"
                         rf"({_SETUP_VERBS})\b")
_SETUP_ANY = re.compile(rf"\b({_SETUP_VERBS})\b")
# the passive with a long subject: "Systems in which several LLM agents argue before answering were compared with …"
# (not inside a reported clause: "The authors caution that the backdoors were inserted by training" is a caveat)
_SETUP_PASSIVE = re.compile(rf"^(?:(?!that\b)[\w.\-]+,? ){{1,12}}(?:was|were) (?:then |first )?({_SETUP_VERBS})\b")
FIT_BONUS = 0.04  # relevance added to a sentence that has the form of answer the question asks for
# Relevance = sentence cosine and note cosine, mixed, with small lifts and penalties. The mix and the lifts were
# tuned in earlier work on COVID-QA questions 1-300 and the demo questions (git history); each lift is small
# next to the cosines, so it reorders near-equals rather than putting an off-topic sentence first.
RELEVANCE = {
    "sentence": 0.65, "note": 0.35,  # the sentence's own cosine to the question, and its note's best chunk's
    "summary": 0.03, "finding": 0.03, "best_chunk": 0.03, "result": 0.03,  # lifts: where answers usually are
    "setup_section": 0.04, "setup_sentence": 0.04,  # a method or background section / sentence
    "unresolved_link": 0.08,  # it leans on a [[link]] to a note the index does not have
    "dangling": 0.06,  # it opens on a reference the sentence itself does not resolve
}
# The cheap first cut (content-word overlap with the question, before any sentence is embedded): the same
# signals, weighted for a score that runs 0-1 on overlap alone (chosen with the relevance mix above when the
# cut to two dozen sentences was introduced, to keep COVID-QA's span-in-evidence figure where it was).
PRESELECT = {"summary": 0.15, "finding": 0.1, "best_chunk": 0.1, "result": 0.05, "setup": 0.1, "per_rank": 0.04,
             "dangling": 0.1, "linked": 0.1}


# a citation's year is no figure either: "McKenzie et al. (2023)", "(NeurIPS 2024)", "(Anthropic, 2025)"
_CITED_YEAR = re.compile(r"\((?:[^()]*\s)?(?:19|20)\d\d\)|\b(?:19|20)\d\d\b(?=\)|,? (?:study|paper|system card))")
# a model's name carries digits that are no measurement: "Claude 3 Opus", "GPT-4", "Llama 3 405B", "o3"
_MODEL_NAME = re.compile(r"\b(?:[A-Z][\w.]*[- ]\d+(?:\.\d+)?(?:[- ][A-Z0-9][\w.]*)*|o\d|[A-Z]+-?\d+[A-Za-z]*)\b")


def fits(form: str, text: str) -> bool:
    """Whether ``text`` has the form of answer a question of ``form`` asks for (see ``rag.reading``)."""
    if form == "quantity":
        text = _MODEL_NAME.sub(" ", _CITED_YEAR.sub(" ", text))
    pat = _FORM.get(form)
    return bool(pat.search(text)) if pat else bool(_FINDING.search(text))


_PARENTHETICAL = re.compile(r"\s*\([^)]*\)")
_IN_STUDY = re.compile(r"^In [^,]{0,60}\b(?:study|studies|experiments?|paper|tests?|evaluations?|setup|setting|environment|scenario|game),\s+")


def is_setup(c: Candidate) -> bool:
    """A sentence that describes how a study was run rather than what it found ("Palisade Research gave
    models a series of maths problems …"): a method verb up front and no result in it."""
    if c.asked:
        return False
    bare = _PARENTHETICAL.sub("", c.text)  # "Palisade Research (2025) gave …": the year is no part of the subject
    scene = _IN_STUDY.match(bare)  # "In Anthropic's 2025 study, Claude Opus 4 was asked …": the study is the scene
    bare = bare[scene.end():] if scene else bare
    m = _SETUP_VERB.match(bare) or _SETUP_PASSIVE.match(bare)
    if m and _MAIN_VERB_AFTER.match(bare[m.end():]):
        m = None  # "All 16 models tested scored above chance": the method verb only says which models
    return c.labelled_setup or (bool(m) and not re.search(
        r"\b(found|finds|show\w*|reveal(?:ed|s)|became|led|rose|fell|dropped|increas\w*|decreas\w*|\d+%)", bare))


# a past-tense verb right after the method verb: the method verb was a participle on the subject, this is the verb
_MAIN_VERB_AFTER = re.compile(r"^\s+(?!by\b|on\b|in\b)[a-z]+ed\b(?!-)")


_NOT_A_THING = frozenset("do does did is are was were has have had can could would should will may might must "
                         "happens happened happen".split())
WH_VERB_REACH = 5  # words of a "which / what" phrase before its verb ("which small language model was fine-tuned")


def asks_setup(question: str, text: str) -> bool:
    """A "which / what" question asks for what a set-up sentence states when the question's own verb, right after
    its wh phrase, is one of the sentence's method verbs ("Which model generated the reasoning traces …?": "The
    dataset was built from traces generated by PaLM 2 …"; "which small language model was fine-tuned on …"): there
    the set-up is the answer, not a preamble to it. "What happened when models were told …" asks for a result."""
    from store.stemming import stem

    m = re.search(r"\b(?:which|what)\s+(.*)", question, re.I)
    if m is None:
        return False
    words = re.findall(r"[\w-]+", m.group(1).lower())
    if not words or words[0] in _NOT_A_THING:
        return False
    verb = next((w for w in words[1:WH_VERB_REACH + 2] if _SETUP_ANY.fullmatch(w)), None)
    if verb is None:
        return False
    return any(stem(x.group(1).split()[-1].lower()) == stem(verb) for x in _SETUP_ANY.finditer(text))


def score(cands: list[Candidate], vecs: np.ndarray, qvec: np.ndarray, note_sims: dict[str, float],
          form: str = "", question: str = "") -> None:
    """Relevance: the sentence's own similarity to the question, lifted by its note's similarity and by having
    the form of answer the question asks for. A set-up sentence a "what / which" question asks about
    (``asks_setup``) is not scored or placed as a set-up."""
    sims = vecs @ qvec
    for c, v, s in zip(cands, vecs, sims):
        c.vec = v
        c.fit = float(fits(form, c.text)) if form else 0.0
        c.asked = form == "what" and bool(question) and asks_setup(question, c.text)
        w = RELEVANCE
        c.relevance = (w["sentence"] * float(s) + w["note"] * note_sims.get(c.note_id, float(s))
                       + (w["summary"] if c.from_summary else 0.0) + (w["finding"] if _FINDING.search(c.text) else 0.0)
                       + (w["best_chunk"] if c.best_chunk else 0.0) + (w["result"] if c.section == "result" else 0.0)
                       - (w["setup_section"] if c.section == "setup" else 0.0)
                       - (w["unresolved_link"] if c.linked and not c.link_ids else 0.0)
                       - (w["dangling"] if c.dangling else 0.0)
                       + FIT_BONUS * c.fit - (w["setup_sentence"] if is_setup(c) else 0.0))


def select(cands: list[Candidate], k: int, lam: float = 0.7, per_note_cap: int = 3, dup_sim: float = 0.86,
           min_notes: int = 3, margin: float = 0.22, focused: bool = False) -> list[Candidate]:
    """MMR: relevance against redundancy, at most ``per_note_cap`` sentences a note, near-duplicates
    dropped, and the first picks spread over the ``min_notes`` most relevant notes. ``focused``: one note
    answers (a figure asked of the note retrieval ranks far above the rest, ``is_focused``), so every other note
    adds one sentence at most, as context rather than as a second answer."""
    pool = [c for c in cands if c.vec is not None]
    # a labelled set-up sentence ("OBJECTIVE: To assess whether …") restates the question rather than
    # answering it: it is quoted only when its note offers nothing else
    told = {c.note_id for c in pool if not c.labelled_setup}
    pool = [c for c in pool if not c.labelled_setup or c.note_id not in told]
    if not pool:
        return []
    strongest = max(pool, key=lambda c: c.relevance)
    top = strongest.relevance
    # the note retrieval ranked first (dense and BM25 together: the surest signal there is) always
    # speaks; other evidence far below the best is left out
    first = min(c.note_rank for c in pool)
    lead_note = max((c for c in pool if c.note_rank == first), key=lambda c: (not c.dangling, c.relevance))
    # when one note answers and the best sentence lacks the form asked for (a figure), that note's sentences
    # with it stay in reach further down
    pool = [c for c in pool if c.relevance >= top - margin or c is lead_note
            or focused and not strongest.fit and c.note_id == lead_note.note_id and c.fit
            and c.relevance >= top - FOCUSED_MARGIN]
    chosen: list[Candidate] = []
    used: dict[str, int] = {}
    # coverage first: the best sentence of each of the strongest notes
    best_per_note: dict[str, Candidate] = {lead_note.note_id: lead_note}
    for c in sorted(pool, key=lambda c: (c.dangling, is_setup(c), -c.relevance)):  # a finding, not its set-up
        best_per_note.setdefault(c.note_id, c)
    cover = sorted(best_per_note.values(), key=lambda c: -c.relevance)[:min_notes]
    if lead_note not in cover:
        cover = cover[:min_notes - 1] + [lead_note]
    for c in cover:
        chosen.append(c)
        used[c.note_id] = 1
    # a long note's answer is often in its second-best-matching passage (COVID-QA: the answer's chunk is
    # first in its paper for 60% of questions, in the first two for 77%), so the strongest note also
    # contributes its best sentence from another of its two best passages
    other = [c for c in pool if c.note_id == lead_note.note_id and c.chunk_rank in (0, 1)
             and c.chunk_id != lead_note.chunk_id and not c.dangling and not _overlaps(c, chosen)]
    if other:
        chosen.append(max(other, key=lambda c: c.relevance))
        used[lead_note.note_id] += 1
    while len(chosen) < k:
        best, best_val = None, -1e9
        for c in pool:
            cap = per_note_cap if not focused or c.note_id == lead_note.note_id else 1
            if c in chosen or used.get(c.note_id, 0) >= cap or _overlaps(c, chosen):
                continue
            if used.get(c.note_id, 0) and c.note_id != lead_note.note_id and c.relevance < top - FURTHER_MARGIN:
                continue  # a further sentence of another note must be near the best evidence, not just in the pool
            if c.dangling and not any(o.note_id == c.note_id and o.position == c.position - 1 for o in chosen):
                continue  # "The remaining four models …" reads only after the sentence it leans on
            red = max((float(c.vec @ o.vec) for o in chosen), default=0.0)
            if red >= dup_sim:
                continue
            val = lam * c.relevance - (1 - lam) * red
            if val > best_val:
                best, best_val = c, val
        if best is None:
            break
        chosen.append(best)
        used[best.note_id] = used.get(best.note_id, 0) + 1
    return in_reading_order(chosen)


# A note other than the lead one adds a second or third sentence only this close to the best evidence's relevance:
# on the demo answers, sentences 0.19-0.20 below the best were a tangential note's padding (a calibration note's
# P(True) results in an answer on debate), while on-point ones sat within 0.14
FURTHER_MARGIN = 0.15


# A question asking for a figure ("how often", "what share") or a yes or no of a note retrieval ranks far above every other
# (fused score at least this multiple of the second note's) is answered by that note: on the demo notes such
# questions score 1.8-3.0; synthesis questions 1.0-1.6. Other notes then add a sentence each, not three (the
# rubric's "padding"), and citing stays as wide as before: on COVID-QA, where the gold paper is second or lower
# in 7% of these questions, it is still cited.
FOCUS_DOMINANCE = 1.6
# ... and when its best sentence gives no figure, its sentences that do stay in reach this far below that best
# one: a sentence that names what the question names ("McKenzie et al. reported the Inverse Scaling Prize …",
# 0.85) can sit 0.33 above the one with the figure asked for ("The eleven winning tasks …", 0.52)
FOCUSED_MARGIN = 0.35
FOCUS_FORMS = ("quantity", "whether")  # a figure, or a yes or no ("Did RLHF leave GPT-4 more or less calibrated?")


FOCUS_EXTRA = 6  # more sentences of the answering note embedded (each costs ~10 ms of encoding on this CPU; PubMedQA
# questions are all yes-or-no, so reading a whole abstract took its p50 from ~370 to ~590 ms)
_DRAWS = re.compile(r"why it matters|implication|significance|takeaway", re.I)


def focus_extra(cands: list[Candidate], note_id: str, have: list[Candidate]) -> list[Candidate]:
    """Up to FOCUS_EXTRA more sentences of the answering note: what it draws from its finding ("why it matters")
    first, then its findings in order."""
    taken = {id(c) for c in have}  # by identity: a Candidate's equality compares every field
    mine = [c for c in cands if c.note_id == note_id and id(c) not in taken]
    return sorted(mine, key=lambda c: (not _DRAWS.search(c.heading or ""), c.position))[:FOCUS_EXTRA]


def is_focused(form: str, scores: list[float]) -> bool:
    """Whether a question of ``form`` with these fused note scores (best first) is one note's to answer."""
    return form in FOCUS_FORMS and len(scores) >= 2 and scores[1] > 0 and scores[0] >= FOCUS_DOMINANCE * scores[1]


@lru_cache(maxsize=4096)
def _figures(text: str) -> frozenset[str]:
    """The numbers a sentence states (cached: ``select`` asks for each candidate and each pick in every round)."""
    from rag.text import content_words, numbers

    return frozenset(numbers(content_words(text)))


_SHARE = re.compile(r"\b\d+(?:\.\d+)?\s?%")


@lru_cache(maxsize=4096)
def _shares(text: str) -> frozenset[str]:
    """The percentages a sentence states ("78%"): a result's figure, unlike a year, a count of runs or a model's
    version, which two different findings of one note often share."""
    return frozenset(m.group(0).replace(" ", "") for m in _SHARE.finditer(text))


def _overlaps(c: Candidate, chosen: list[Candidate]) -> bool:
    """A sentence already quoted inside a repaired pair, or a pair holding a sentence already quoted; or one
    that restates a quoted sentence of its note with the same figures (a summary and its body both saying
    "46% … 17%" in other words): two or more numbers in common, or one percentage and a close meaning."""
    figs, shares = _figures(c.text), _shares(c.text)
    for o in chosen:
        if o.note_id != c.note_id:
            continue
        if c.text in o.text or o.text in c.text:
            return True
        if len(figs & _figures(o.text)) >= RESTATED_FIGURES:
            return True
        if shares & _shares(o.text) and c.vec is not None and o.vec is not None \
                and float(c.vec @ o.vec) >= RESTATED_SHARE_COS:
            return True
    return False


RESTATED_FIGURES = 2  # shared numbers that mark a sentence as restating another of its note (one can be chance)
# one shared percentage marks a restatement only with a close meaning: on the demo notes, a summary and its body
# restating "rose to 78%" score 0.70; two findings of one note sharing a denominator ("7 of 100", "79 of 100")
# 0.60, but those share no percentage
RESTATED_SHARE_COS = 0.65


def in_reading_order(chosen: list[Candidate]) -> list[Candidate]:
    """Notes in the order retrieval ranked them (dense and BM25 fused: a surer guide to which note answers
    than any one sentence's similarity); within a note, sentences in the order the note has them — except
    that the lead note opens on its most direct answer (the best-fitting finding, never a set-up or a
    sentence leaning on one before it)."""
    out = sorted(chosen, key=lambda c: (c.note_rank, c.note_id, c.position))
    if not out:
        return out
    first = [c for c in out if c.note_id == out[0].note_id]
    lead = max(first, key=lambda c: (not c.dangling and not is_setup(c) and not c.link_ids, c.fit, c.relevance))
    return [lead] + [c for c in out if c is not lead]
