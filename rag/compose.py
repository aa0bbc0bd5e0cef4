"""Composition of the extractive inquiring line: framing, reading, connections and takeaway, written around
the evidence the notes give (``rag.evidence`` chose it; this module never chooses what is true, only how it is
said).

Every finding is a note's own sentence, quoted as the note has it and cited to it. What this module writes
itself is the connective tissue, each part from what the evidence says rather than from its position:

* the **framing** reads the question: its form (a cause, a number, a condition, a yes or no) and the concept
  the best notes use for it ("terminal goal guarding"), worded in one of several ways so that no fixed phrase
  runs through every answer;
* the **reading** opens on the most direct answer — or, when the best notes contradict what the question
  takes for granted, on the correction;
* each further note is introduced by how its finding relates to the lead one: it **contrasts** (says the
  opposite on a shared word, or turns on "but", "unlike"), **qualifies** (only, unless, depends), **extends**
  (also, beyond, across, more broadly) or **agrees**; a note's own sentence that links two cited notes ("the
  same outcome seen in …") is quoted as the connection it is;
* the **takeaway** is the notes' own statement of what follows: a "why it matters" sentence, a lever (what
  reduces, reverses or fixes the effect), or the finding the others circle.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

from rag.answer import Paragraph, Sentence
from rag.contradiction import opposition
from rag.evidence import FOCUSED_MARGIN, Candidate, is_setup, split_sentences
from rag.reading import Reading
from rag.text import LINKED_TITLE, content_words

# -------------------------------------------------------------------------------------------- wording
# Framing skeletons per question form: {clause} is the question as a clause, {concept} what it turns on.
# Many short variants (none shares a run of five words with another), picked by a hash of the question, so
# the framings of different questions do not read as one template.
_FRAMES = {
    "why": [
        "This explores {clause}, a question that turns on {concept}",
        "This explores {clause}; the notes trace it to {concept}",
        "At issue is {clause}, and what {concept} has to do with it",
        "This asks {clause}, and the causes the notes find lie in {concept}",
        "This explores {clause}, taking {concept} as the thread to follow",
        "The question is {clause}: an explanation that runs through {concept}",
        "This looks for the cause: {clause}, read through {concept}",
        "This explores {clause}, where the notes' account centres on {concept}",
    ],
    "quantity": [
        "This explores {clause}: a figure, and what {concept} makes of it",
        "The question wants a number: {clause}, measured in work on {concept}",
        "This asks {clause}, which the notes put a figure on under {concept}",
        "This explores {clause}, counting what the notes record about {concept}",
        "At issue is a magnitude: {clause}, as the work on {concept} reports it",
        "This explores {clause}, with the size of the effect taken from {concept}",
    ],
    "condition": [
        "This explores {clause}: the conditions the notes attach to {concept}",
        "The question is about circumstances: {clause}, as studied under {concept}",
        "This asks {clause}, which the notes answer by the settings where {concept} appears",
        "This explores {clause}, and where the line falls for {concept}",
        "At issue is {clause}; the notes' answer depends on {concept}",
        "This explores {clause}, separating the cases the notes record for {concept}",
    ],
    "whether": [
        "This explores {clause}, which the notes test through {concept}",
        "The question is {clause}; what the notes find turns on {concept}",
        "This asks {clause}, with {concept} as the evidence to weigh",
        "This explores {clause}: a yes or no, weighed through {concept}",
        "At issue is {clause}, read against the work on {concept}",
        "This explores {clause}, weighing what studies of {concept} found",
        "This weighs {clause}, a matter the notes approach through {concept}",
        "This explores {clause}; the answer rests on {concept}",
    ],
    "how": [
        "This explores {clause}: the mechanism, as the notes describe it through {concept}",
        "This asks {clause}, tracing the steps the notes record in {concept}",
        "At issue is the how: {clause}, by way of {concept}",
        "This explores {clause}, following the process the notes call {concept}",
        "The question is {clause}, and the notes' account turns on {concept}",
        "This explores {clause}, with {concept} as the working part",
    ],
    "what": [
        "This explores {clause}, a question the notes take up through {concept}",
        "At issue is {clause}; the notes answer it from work on {concept}",
        "This asks {clause}, reading the notes on {concept}",
        "This explores {clause}, drawing on what is recorded about {concept}",
        "The question is {clause}, and {concept} is where the notes meet it",
        "This explores {clause}, which comes down to {concept}",
    ],
}
# A clause that carries its own scene or condition ("how often o3 interfered, with no instruction to …") is
# long and has a comma of its own: the concept comes first, the clause last
_FRAMES_LONG_CLAUSE = [
    "This takes up {concept}, asking {clause}",
    "Read through {concept}, the question is {clause}",
    "This reads the question through {concept}: {clause}",
    "The notes on {concept} meet this question: {clause}",
]
# When no clause can be made safely (the question's wording resists a grammatical rewrite)
_FRAMES_NO_CLAUSE = [
    "This explores a question about {concept}: {focus}",
    "The question turns on {concept}, and {focus}",
    "At issue is {concept}; {focus}",
    "This reads the question as one about {concept}: {focus}",
    "This takes up {concept}, asking {focus}",
]
_FOCUS = {"why": "what the notes give as its cause", "quantity": "what figure the notes put on it",
          "condition": "under which conditions it holds", "whether": "whether the evidence says yes or no",
          "how": "how it comes about", "what": "what the notes record on it"}
_CONTRADICTED = ["The notes dispute what it takes for granted.", "The notes contradict its premise.",
                 "What it assumes is not what the notes found.", "Its premise does not survive the notes."]
INDIRECT_VARIANTS = [
    "The notes bear on this only indirectly: what follows is the closest they come, not an answer they settle.",
    "Nothing here answers it head-on; the nearest findings follow, and they leave it open.",
    "The notes touch this only at an angle, so read what follows as the nearest evidence, not a settled answer.",
    "No note takes this up directly: the closest findings are below, and the question stays open.",
]
MISSING_VARIANTS = [
    "The notes do not take up {missing}: what follows is the closest they come, not an answer.",
    "Nothing in the notes is about {missing}, so what follows is their nearest evidence, not an answer to that part.",
    "No note mentions {missing}; the findings below are the closest the notes come, and they leave that part open.",
]
MAX_MISSING_WORDS = 12  # a longer "missing" part from the LLM judge is cut to the question's own words


def indirect_note(missing: str | None, key: str) -> str:
    """The framing's flag on an indirect answer: what the notes do not take up, when the coverage check
    (rag.coverage) or the LLM judge (rag.judge) named it, else one of INDIRECT_VARIANTS."""
    words = " ".join((missing or "").split()).rstrip(".;:,").split()
    if words and len(words) <= MAX_MISSING_WORDS:
        return pick(MISSING_VARIANTS, key, "missing").format(missing=" ".join(words))
    return pick(INDIRECT_VARIANTS, key, "indirect")


_PREMISE_LEADS = [
    "The question takes for granted that {claim}, but the notes say otherwise.",
    "The notes do not bear out the premise that {claim}.",
    "The notes do not support the assumption that {claim}.",
]
_DIRECT = [("The most direct evidence is that", "The most direct evidence:"),
           ("The clearest answer is that", "The clearest answer:"),
           ("Most directly,", "Most directly:"),
           ("The answer the notes give is that", "The notes' answer:")]
_NEAREST = [("The nearest finding is that", "The nearest finding:"),
            ("The closest the notes come is that", "The closest the notes come:")]
_RELATION_LEADS = {
    "contrasts": [("Against this,", "Against this:"), ("Pulling the other way,", "Pulling the other way:"),
                  ("The picture is not uniform:", "The picture is not uniform:")],
    "qualifies": [("There is a limit here:", "There is a limit here:"),
                  ("Only up to a point:", "Only up to a point:"),
                  ("A qualification:", "A qualification:")],
    "extends": [("Further afield,", "Further afield:"),
                ("Beyond a single setting,", "Beyond a single setting:"),
                ("Wider still,", "Wider still:")],
    "agrees": [("Pointing the same way,", "Pointing the same way:"),
               ("A separate line of evidence agrees:", "A separate line of evidence agrees:"),
               ("In the same direction,", "In the same direction:")],
}
_QUALIFY = re.compile(r"\b(only (when|if|in|for|under)|unless|depend\w*|except|limited to|at least in|"
                      r"not (always|every|all)|in some|some of the time|mainly|largely|partly|model-dependent)\b", re.I)
_CONTRAST_OPENING = re.compile(r"^(but|however|unlike|in contrast|by contrast|whereas|conversely|yet)\b", re.I)
_EXTEND = re.compile(r"\b(also|beyond|across|more broadly|general\w*|even|spread\w*|extend\w*|wider|other "
                     r"(settings|tasks|models|domains)|transfer\w*)\b", re.I)
# words that may be lower-cased when a lead-in is put before a sentence that starts with them
_LOWERABLE = set("""a an the in on at for from to by with without when while if although though as after before
this that these those it its they their there here models model language large llms most many some more
across both each every one two three several such training trained people humans researchers studies
study work evidence results analysis experiments testing asking giving using adding under over
""".split())
_LEVER = re.compile(r"\b(reduces?|reduced|mitigat\w*|prevents?|prevented|reverses?|reversed|only when|only works "
                    r"when|unless|restores?|counteracts?|remed\w*|cuts?|largely (prevented|disappeared)|fix\w*)\b", re.I)
_NEGATED = re.compile(r"\b(not|no|never|fail\w*|without|cannot)\b", re.I)
# a sentence that draws a consequence rather than reporting one result
_IMPLIES = re.compile(r"\b(so|suggests?|suggesting|implies|implying|means|could|would|should|might|predicts?|"
                      r"points? (to|toward)|which is why|therefore|the lesson|the risk|worth|matters?)\b", re.I)
_WHY_IT_MATTERS = re.compile(r"why it matters|implications?|significance|takeaway|so what", re.I)


def pick(options: Sequence, key: str, salt: str = ""):
    """One of ``options``, the same for the same question (a stable hash, not a random draw)."""
    return options[zlib.crc32(f"{salt}|{key}".encode()) % len(options)]


def lead_in(lead: tuple[str, str], sentence: str) -> str:
    """A connective before a quoted finding: the clause form ("The clearest answer is that x …") when the
    sentence's first word can safely be lower-cased, else the colon form ("The clearest answer: Huang …")."""
    clause, colon = lead
    first = sentence.split(" ", 1)[0]
    bare = re.sub(r"\W", "", first)
    if bare.lower() in _LOWERABLE and bare[:1].isupper() and (len(bare) == 1 or bare[1:].islower()):
        return f"{clause} {sentence[0].lower()}{sentence[1:]}"
    return f"{colon} {sentence}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


# -------------------------------------------------------------------------------------------- framing
# The best note's own question, when it puts the asker's question in the notes' terms ("Why do models resist having
# their goals changed?" → "whether models resist modification for its own sake or for later payoff"): the reading
# the framing gives in place of a formula around the concept. {clause} is the question, {notes} the note's.
_NOTES_TERMS = [
    "This explores {clause}; the notes put it as {notes}",
    "This explores {clause}, which the notes take up as {notes}",
    "At issue is {clause}, or in the notes' terms, {notes}",
    "This asks {clause}; in the notes it becomes {notes}",
    "The question is {clause}, which the notes frame as {notes}",
    "This explores {clause}: for the notes, the question underneath is {notes}",
    "This asks {clause}, a matter the notes pose as {notes}",
]
_NOTES_TERMS_NO_CLAUSE = ["The notes put this question as {notes}", "In the notes' terms, the question is {notes}",
                          "The notes take this up as {notes}"]
_NOTES_NEAREST = ["This explores {clause}, though what the notes study is {notes}",
                  "The question is {clause}; the notes only reach as far as {notes}",
                  "This asks {clause}, next to which the notes study a neighbouring question: {notes}"]
NOTES_TERMS_OVERLAP = 0.6  # content-word overlap (Jaccard) with the question above which the note's question adds nothing
NOTES_TERMS_MAX_WORDS = 24  # a longer note question would crowd the framing


def notes_terms(question: str, title: str | None) -> str | None:
    """The note's title as a clause ("whether models resist …") when it is a question worded unlike the asker's."""
    from rag.reading import clause_of

    if not title or not title.strip().endswith("?"):
        return None
    clause = clause_of(title)
    if not clause or len(clause.split()) > NOTES_TERMS_MAX_WORDS:
        return None
    a, b = content_words(question), content_words(title)
    if not b or len(a & b) / len(a | b) > NOTES_TERMS_OVERLAP:
        return None
    return clause


def framing(reading: Reading, concept: str | None, *, contradicted: bool = False, indirect: bool = False,
            missing: str | None = None, lead_title: str | None = None) -> str:
    q = reading.question
    concept = concept or "what the notes record"
    terms = notes_terms(q, lead_title)
    form = "what" if indirect and reading.form == "quantity" else reading.form  # no "the notes put a figure on"
    if terms and reading.clause and "," not in reading.clause:
        text = pick(_NOTES_NEAREST if indirect else _NOTES_TERMS, q, "terms").format(clause=reading.clause, notes=terms)
    elif terms and not reading.clause and not indirect:
        text = pick(_NOTES_TERMS_NO_CLAUSE, q, "terms").format(notes=terms)
    elif reading.clause and "," in reading.clause:  # a clause with its scene or condition: it goes last
        text = pick(_FRAMES_LONG_CLAUSE, q, "frame").format(clause=reading.clause, concept=concept)
    elif reading.clause:
        text = pick(_FRAMES.get(form, _FRAMES["what"]), q, "frame").format(clause=reading.clause, concept=concept)
    else:
        text = pick(_FRAMES_NO_CLAUSE, q, "frame").format(concept=concept, focus=_FOCUS.get(form, _FOCUS["what"]))
    text = _cap(text.rstrip(".")) + "."
    if contradicted:
        text += " " + pick(_CONTRADICTED, q, "contra")
    elif indirect:
        text += " " + indirect_note(missing, q)
    return text


# -------------------------------------------------------------------------------------------- relations
def relation(lead: Candidate, other: Candidate) -> str:
    """How ``other``'s finding relates to the lead one: contrasts (it says the opposite on a word they share,
    or opens on a contrast), qualifies, extends or agrees. A sentence quoted with the one it leans on is read
    by its own words: the context before it states a premise ("RLHF makes token probabilities overconfident"),
    not the finding."""
    if opposition(_own_words(lead), _own_words(other), min_shared=2) is not None \
            or _CONTRAST_OPENING.match(other.text):
        return "contrasts"
    if _QUALIFY.search(other.text):
        return "qualifies"
    if _EXTEND.search(other.text):
        return "extends"
    return "agrees"


def _own_words(c: Candidate) -> str:
    """A candidate's own sentence: the last of a repaired pair, else its text."""
    return split_sentences(c.text)[-1] if c.repaired else c.text


def _sentence(c: Candidate, text: str | None = None) -> Sentence:
    cites = [c.note_id] + [n for n in c.link_ids if n != c.note_id]
    return Sentence(text=text or c.text, cites=cites, quote=c.passage, page=c.page, kind="finding")


def _connection(text: str) -> Sentence:
    return Sentence(text=text, cites=[], kind="connection")


# -------------------------------------------------------------------------------------------- the line
def compose(question: str, reading: Reading, concept: str | None, evidence: Sequence[Candidate],
            pool: Sequence[Candidate], *, indirect: bool = False, missing: str | None = None,
            correction: Candidate | None = None, correction_claim: str | None = None,
            focused: bool = False, terms: dict[str, float] | None = None, titles: dict[str, str] | None = None
            ) -> tuple[str, list[Paragraph], str, list[str]]:
    """(framing, paragraphs, takeaway, takeaway cites) from the evidence (in reading order: the lead note
    first) and, when the premise check found one, the correcting sentence. ``titles``: note id -> title, for the
    framing's reading of the question in the lead note's terms."""
    q = question
    groups: dict[str, list[Candidate]] = {}
    for c in evidence:
        if correction is not None and c.text == correction.text and c.note_id == correction.note_id:
            continue
        groups.setdefault(c.note_id, []).append(c)
    for nid, sents in groups.items():  # each note speaks first with its best finding, never a set-up
        best = max(sents, key=lambda c: (not c.dangling and not is_setup(c) and not c.linking, c.relevance))
        groups[nid] = [best] + [c for c in sents if c is not best and not is_setup(c)]
    if evidence:  # a note far less relevant than the best one is left out rather than padded in
        top = max(c.relevance for c in evidence)
        groups = {n: g for i, (n, g) in enumerate(groups.items())
                  if i == 0 or max(c.relevance for c in g) >= top - NOTE_SLACK}
    order = list(groups)
    if order and correction is None:  # the answer opens on a finding, not on a link to another note
        groups[order[0]] = _lead_finding(groups[order[0]], pool)
    paragraphs: list[Paragraph] = []
    used: set[int] = set()

    # the reading: the correction, or the most direct answer, then what its note adds
    p1: list[Sentence] = []
    lead: Candidate | None = None
    if correction is not None:
        claim = (correction_claim or "").rstrip(" .?")
        if claim:
            p1.append(_connection(pick(_PREMISE_LEADS, q, "premise").format(claim=claim)))
        p1.append(_sentence(correction))
        used.add(id(correction))
        lead = correction
        own = groups.pop(correction.note_id, [])
        order = [n for n in order if n != correction.note_id]
        for c in _follow_ups(correction, own, FOLLOW_UP_SLACK)[:1]:
            p1.append(_sentence(c))
            used.add(id(c))
    elif order:
        top = order.pop(0)
        own = groups[top]
        lead = own[0]
        leads = _NEAREST if indirect else _DIRECT
        p1.append(_sentence(lead, lead_in(pick(leads, q, "lead"), lead.text)))
        used.add(id(lead))
        for c in _follow_ups(lead, own[1:], FOLLOW_UP_SLACK_FOCUSED if focused else FOLLOW_UP_SLACK, focused):
            p1.append(_sentence(c))
            used.add(id(c))
        for c in own[1:]:  # the lead note's own links onward to other cited notes come with the connections
            if id(c) not in used and c.linking:
                if c.dangling:  # "It looks like a cousin of …": its "it" is the lead finding, so it follows it
                    p1.append(_sentence(c))
                    used.add(id(c))
                else:
                    groups.setdefault(f"{top}#rest", []).append(c)
        if f"{top}#rest" in groups:
            order.append(f"{top}#rest")
    if p1:
        paragraphs.append(Paragraph(sentences=p1))
    lead_title = (titles or {}).get(lead.note_id) if lead is not None else None
    frame = framing(reading, concept, contradicted=correction is not None, indirect=indirect, missing=missing,
                    lead_title=lead_title)

    # the connections: each further note introduced by how it relates to the lead finding
    cur: list[Sentence] = []
    said_leads: set[str] = set()
    for i, nid in enumerate(order):
        sents = groups[nid]
        first = sents[0]
        rel = relation(lead, first) if lead is not None else "agrees"
        if first.linking:  # the note's own sentence connecting it to a cited note: it is the connective
            text = first.text
        else:  # the relation's wording, not one this answer has used already
            options = [o for o in _RELATION_LEADS[rel] if o[0] not in said_leads] or _RELATION_LEADS[rel]
            lead_words = pick(options, q + nid, "rel")
            said_leads.add(lead_words[0])
            text = lead_in(lead_words, first.text)
        cur.append(_sentence(first, text))
        used.add(id(first))
        for c in sents[1:]:
            cur.append(_sentence(c))
            used.add(id(c))
        if len(cur) >= PARAGRAPH_SENTENCES or i == len(order) - 1:
            paragraphs.append(Paragraph(sentences=cur))
            cur = []
    paragraphs = paragraphs[:MAX_PARAGRAPHS]
    cited = [c for p in paragraphs for s in p.sentences for c in s.cites]
    takeaway, tk = _takeaway(q, evidence, pool, used, set(cited), focused=focused)
    answer = _answer_in_takeaway(takeaway, lead, pool, terms, used) if paragraphs and correction is None else None
    if answer is not None:  # the one answering note's sentence that answers is read second, not kept for last
        paragraphs[0].sentences.insert(1, _sentence(answer))
        used.add(id(answer))
        takeaway, tk = _takeaway(q, evidence, pool, used, set(cited), focused=focused)
    return frame, paragraphs, takeaway, tk


def _answer_in_takeaway(takeaway: str, lead: Candidate | None, pool: Sequence[Candidate],
                        terms: dict[str, float] | None, used: set[int]) -> Candidate | None:
    """The takeaway's sentence, when it is the lead note's and holds more of the question's words than the lead
    finding does, by ANSWER_LEXICAL_MARGIN of their IDF weight ("Which Inverse Scaling Prize task asks models to
    alter a famous quotation …?": "Winning tasks included Memo Trap, where a familiar quotation must be
    altered …" against the lead "McKenzie et al. (2023) reported the Inverse Scaling Prize …")."""
    if lead is None or not terms:
        return None
    c = next((c for c in pool if c.text == takeaway and c.note_id == lead.note_id), None)
    if c is None or _WHY_IT_MATTERS.search(c.heading or "") or _restates(c, [s for s in pool if id(s) in used]):
        return None  # what the note draws from its finding stays the takeaway; a restatement stays out
    total = sum(terms.values())

    def held(text: str) -> float:
        words = content_words(text)
        return sum(idf for t, idf in terms.items() if t in words) / total

    return c if held(c.text) >= held(lead.text) + ANSWER_LEXICAL_MARGIN else None


# the question's IDF-weighted words a takeaway sentence must hold beyond the lead's to be read as the answer
# (on the demo sets the sentences moved this way lead by 0.13-0.40; ties and near-ties stay takeaways)
ANSWER_LEXICAL_MARGIN = 0.1


# a sentence that points at another note's result instead of stating one: "X is also one component of “…”",
# "… shows a larger version of the same effect"
_ECHO = re.compile(r"\b(is also (?:one|a|an)|the same (?:effect|result|pattern|finding|outcome|reason)|"
                   r"(?:larger|similar|smaller|broader) version|echo\w*|cousin of|connects? (?:directly )?to|"
                   r"links? \w+ to|appears? in|develops? further|resembles?)\b", re.I)


def is_pointer(c: Candidate) -> bool:
    return "“" in c.text and bool(_ECHO.search(LINKED_TITLE.sub(" ", c.text)))


def _restates(c: Candidate, said: Sequence[Candidate]) -> bool:
    """``c`` is close in meaning to a sentence the answer quoted (``said``), or inside one (a repaired pair)."""
    return (c.vec is not None and any(s.vec is not None and float(s.vec @ c.vec) >= RESTATES for s in said)) or \
        any(c.text in s.text for s in said)


def _takes_away(c: Candidate) -> bool:
    """A sentence a takeaway can be: not one that only points at another note ("Broader consequences … appear
    in “…”"), unless it also draws a consequence ("…, so the drift toward overconfidence looks like a cousin of
    “…”"; "it argues for judges drawn from a different model")."""
    return not is_pointer(c) or bool(_IMPLIES.search(LINKED_TITLE.sub(" ", c.text)) or _ARGUES.search(c.text))


_ARGUES = re.compile(r"\bargu(?:es|ing)\b", re.I)


def _clean(c: Candidate) -> bool:
    """A finding that can open an answer: no dangling reference, no set-up, not a pointer to another note."""
    return not c.dangling and not is_setup(c) and not is_pointer(c)


def _lead_finding(group: list[Candidate], pool: Sequence[Candidate]) -> list[Candidate]:
    """The lead note's sentences with a finding first: when its best one only points at other notes ("X is
    also one component of “…”"), leans on what came before or sets up a study, the note's own clean finding in
    the pool leads instead, if it is within LEAD_SWAP_SLACK of it."""
    best = group[0]
    if _clean(best):
        return group
    mine = [c for c in pool if c.note_id == best.note_id and _clean(c) and c.relevance >= best.relevance - LEAD_SWAP_SLACK]
    if not mine:
        return group
    lead = max(mine, key=lambda c: c.relevance)
    return [lead] + [c for c in group if c is not lead and c.text != lead.text]


def _follow_ups(lead: Candidate, own: Sequence[Candidate], slack: float, focused: bool = False) -> list[Candidate]:
    """What the lead note adds right after its lead finding: on-point sentences (within ``slack`` of its relevance;
    when that note alone answers with a lead that gives no figure, within FOCUSED_MARGIN if they give one) that say
    something new and do not reach out to other notes (those belong with the connections)."""
    out = []
    for c in own:
        reach = max(slack, FOCUSED_MARGIN) if focused and c.fit and not lead.fit else slack
        if c.linking or c.dangling or c.relevance < lead.relevance - reach or \
                _WHY_IT_MATTERS.search(c.heading or ""):  # the note's own "why it matters" is kept for the takeaway
            continue
        if lead.vec is not None and c.vec is not None and float(lead.vec @ c.vec) >= RESTATES:
            continue
        out.append(c)
    return out[:FOLLOW_UPS]


# a pointer, dangling or set-up best sentence gives the lead to its note's clean finding this close below it
# (the summaries' findings sat 0.04-0.14 below such pointers on the demo questions where one led)
LEAD_SWAP_SLACK = 0.15
NOTE_SLACK = 0.20  # a further note speaks only if its best sentence is this close to the best evidence's relevance
FOLLOW_UPS = 2  # sentences the lead note adds to its lead finding in the first paragraph
FOLLOW_UP_SLACK = 0.12  # how far below the lead finding's relevance a follow-up may be
FOLLOW_UP_SLACK_FOCUSED = 0.20  # ... when that note alone answers (its context is the answer's, not padding)
RESTATES = 0.80  # cosine at which one sentence restates another (summary against body: 0.80-0.95 on the demo notes)
PARAGRAPH_SENTENCES = 3  # sentences before a connection paragraph closes (the format asks for 2-5 paragraphs)
MAX_PARAGRAPHS = 5


def _takeaway(question: str, evidence: Sequence[Candidate], pool: Sequence[Candidate], used: set[int],
              cited: set[str], focused: bool = False) -> tuple[str, list[str]]:
    """The notes' own statement of what follows: a "why it matters" sentence of a cited note (one whose links
    are all cited comes first), else a lever, else the finding the evidence circles. ``focused``: one note
    answered, so the takeaway is what that note draws from its finding, when it draws something."""
    floor = min((c.relevance for c in evidence), default=0.0) - TAKEAWAY_SLACK
    if focused and evidence:  # what the one answering note draws from its finding, even if less like the question
        floor -= FOCUSED_TAKEAWAY_SLACK
        lead_id = evidence[0].note_id
        mine = [c for c in pool if c.note_id == lead_id]
        if any(c.relevance >= floor and id(c) not in used and not c.dangling and not is_setup(c)
               and (_WHY_IT_MATTERS.search(c.heading or "") or _IMPLIES.search(c.text)) for c in mine):
            pool = mine

    said = [c for c in pool if id(c) in used]

    def ok(c: Candidate, links_cited: bool = True) -> bool:
        return (id(c) not in used and c.note_id in cited and not c.dangling and c.relevance >= floor
                and (set(c.link_ids) <= cited or not links_cited) and not _restates(c, said) and not is_setup(c))

    # a note's own "why it matters": the insight it draws; a linked note it names but the answer does not cite
    # is read by its title, uncited (the takeaway cites only what the reading cites)
    why = [c for c in pool if ok(c, links_cited=False) and _WHY_IT_MATTERS.search(c.heading or "")
           and _takes_away(c)]
    if why:
        ranks = sorted({c.note_rank for c in evidence})[:TAKEAWAY_LEAD_NOTES]
        c = max(why, key=lambda c: (c.relevance + WHY_LINK_BONUS * bool(set(c.link_ids) & cited)
                                    + LEAD_NOTE_BONUS * (c.note_rank in ranks)))
        return c.text, [c.note_id, *[n for n in c.link_ids if n != c.note_id and n in cited]]
    levers = [c for c in pool if ok(c) and _LEVER.search(c.text) and not _NEGATED.search(c.text)]
    if levers:
        c = max(levers, key=lambda c: c.relevance)
        return c.text, [c.note_id]
    rest = [c for c in pool if ok(c) and c.vec is not None]
    vecs = [c.vec for c in evidence if c.vec is not None]
    if rest and len(vecs) >= 2:
        ev = np.stack(vecs)
        # a sentence that draws a consequence ("so …", "suggests", "could") before one that only reports; among
        # those, the one closest to what the evidence says together
        c = max(rest, key=lambda c: (bool(_IMPLIES.search(c.text)), float((ev @ c.vec).mean())))
        return c.text, [c.note_id]
    if evidence:  # one finding only: say so plainly rather than invent a pattern
        return ("this rests on a single note's finding, so it is one result to build on, not a settled "
                "pattern."), []
    return "the notes cannot settle this yet.", []


TAKEAWAY_SLACK = 0.10  # a takeaway sentence may score this much below the least relevant quoted finding
# ... and this much further when one note answers: its "why it matters" reads beyond the figure asked for
# ("Resistance here need not be self-preservation …" scores 0.32 against a question about how often o3 did it)
FOCUSED_TAKEAWAY_SLACK = 0.30
WHY_LINK_BONUS = 0.03  # a "why it matters" sentence that links cited notes wins a near tie
# the insight of the notes that answer the question, before that of a note quoted further down: a "why it
# matters" sentence of one of the two best-ranked cited notes gains this much (on the demo composition set,
# takeaways drawn from a note cited only in the last paragraph were the ones off the question's point)
TAKEAWAY_LEAD_NOTES = 2
LEAD_NOTE_BONUS = 0.05
