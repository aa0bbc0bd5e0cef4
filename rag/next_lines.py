"""Next inquiring lines: candidates from the answer's neighbourhood, then checks.

A candidate survives only if it is new (not the question, not a note title, not a near-duplicate of
another line) and the index can take it up: it retrieves a relevant note this answer did not rest on.
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass

import numpy as np

from rag.reading import _BE, _MODALS


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def _words(text: str) -> set[str]:
    return {w for w in _norm(text).split() if len(w) > 3}


def _jaccard(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / max(1, len(wa | wb))


@dataclass
class Proposal:
    text: str
    seed_note: str  # the note that suggested it
    specific: bool = False  # asked in a cited note's own words about its neighbour (``asked``, a thread), no template


# A next line relates what this answer turns on ({a}) to a neighbouring note's subject ({b}): many short
# wordings, picked by a hash of the question and the neighbour, so no phrase runs through every answer. Each
# makes sense whatever the two subjects are (no wording presumes one causes, explains or is a form of the other:
# "Does self-correction also drive RLHF?" read as nonsense on the demo answers), and each verb
# agrees with its subject: {is_b} is "Is" or "Are", {does_a} "does" or "do".
_RELATING = [
    "What links {a} to {b}?", "How {does_b} {b} bear on {a}?", "What {does_b} {b} add to {a}?",
    "Do findings on {b} agree with {a}?", "{Does_b} {b} change the account of {a}?", "How {is_b} {b} related to {a}?",
    "Where {does_b} {b} fit with {a}?", "{Does_b} {b} recast {a}?",
    "What {does_b} {b} show about {a}?",
]
# no wording holds a fixed run of five words: the template rate (eval.question_sets) counts such runs
# A cited note's Related list sometimes says what a neighbour finds as a clause ("locating the error is the
# bottleneck", "persuasion is growing with capability"): a specific thread this answer leaves open, asked about
# against the answer's concept. No wording holds a fixed run of five words.
_THREADS = [
    "If {d}, what follows for {a}?", "Does the finding that {d} carry over to {a}?",
    "How {does_a} {a} square with the finding that {d}?", "Given that {d}, where does that leave {a}?",
]
_FINITE = frozenset("is are was were can could may might will would should must does do did has have had".split())
MAX_THREAD_WORDS = 10  # a longer description reads as a sentence pasted into the question
MAX_THREADS = 2  # thread lines an answer leads its next lines with; the rest relate subjects
MAX_ASKED = 3  # lines asked in a Related description's own words (``asked``), before the threads


def thread_clause(description: str, lexicon: bool = False) -> str | None:
    """``description`` when it is a clause stating a finding, else None: a subject of one to four words (no
    relative pronoun or participle: "monitoring that depends on …", "agents favouring the option they hold" are
    noun phrases), then a finite verb — an auxiliary or modal, a plain verb after a plural subject ("fair
    comparisons shrink the gains"), or an -s form where a plural noun could not stand ("reflection alone fails",
    "optimising against a monitor teaches hiding"; not "right answers with …", "recognising tests in practice")."""
    from rag.reading import BASE_VERBS

    words = description.split()
    if not 3 <= len(words) <= MAX_THREAD_WORDS or _META.search(description) or words[0].lower() in _WH_WORDS \
            or re.search(r"\bthere\b", description):  # "… types there": the note speaking of itself
        return None
    low = [w.lower().strip(",;") for w in words]
    for i in range(1, min(5, len(low))):
        w, prev, nxt = low[i], low[i - 1], (low[i + 1] if i + 1 < len(low) else "")
        if w in _FINITE:
            finite = True
        elif w in BASE_VERBS or (lexicon and _lexicon_verb(w) and i >= 2 and prev.endswith("s")
                                 and not set(low[:i]) & _PREPOSITIONS):  # "consistent errors defeat self-checks"
            finite = prev not in _NOT_BEFORE_VERB and plural(" ".join(low[:i]))
        elif w.endswith("s") and (w[:-1] in BASE_VERBS or (w.endswith("es") and w[:-2] in BASE_VERBS)
                                  or lexicon and _lexicon_verb(w[:-1]) and not w.endswith("ss")
                                  and prev not in ("the", "a", "an", "these", "those", "its", "their")):
            finite = nxt not in _NOUN_FOLLOWERS and prev not in _PREPOSITIONS and not (
                i == 1 and ((prev.endswith("ing") and "-" not in prev) or prev.endswith(_ADJECTIVE_ENDINGS))) and (
                prev in _ADVERBS or prev.endswith("ly") or (i >= 2 and low[1] in _PREPOSITIONS | {"against"})
                or i == 1)
        else:
            continue
        if not finite:
            continue  # a noun that can be a verb ("a monitor"), or a plural noun ("right answers with …")
        if any(x in _RELATIVE or x.endswith("ing") for x in low[1:i]) or low[0] in _RELATIVE:
            return None
        return _lower_first(description.rstrip("."))
    return None


# A Related-list description that is an indirect question ("why judges favour their own outputs", "where rewarded
# flattery can lead") is the note's own statement of a thread its neighbour takes up: asked directly ("Why do judges
# favour their own outputs?") it is a next line in the notes' words, specific to this answer and no template.
_VAGUE = frozenset("this that these those such it they them there here".split())  # a referent the line would lose
_VAGUE_HEADS = frozenset("model models behaviour behavior effect effects pressure result results finding findings "
                         "study paper method approach task tasks test tests setup same other original".split())
_SUBJECT_WH = frozenset("what which who".split())
_HOW_DEGREE = frozenset("much many often far well rare common effectively likely strongly quickly".split())
MAX_ASKED_WORDS = 14  # a longer question reads as a sentence turned round
MAX_SUBJECT_SPAN = 5  # words, at most, between the wh phrase and the verb


def asked(description: str) -> str | None:
    """``description`` as a direct question when it is an indirect one ("why the proxy can always diverge" →
    "Why can the proxy always diverge?"), else None: also None when it leans on a referent the line would lose
    ("why the model guards its goals", "what a model could do with that awareness") or its verb cannot be found
    safely."""
    from lemminflect import getLemma

    from rag.lexicon import pos

    rel = _relative_asked(description)
    if rel is not None:
        return rel
    words = description.strip().rstrip(".;:").split()
    low = [w.lower() for w in words]
    wh = low[0] in _WH_WORDS - {"whether"} if low else False
    if not 3 <= len(words) <= MAX_ASKED_WORDS - 1 or set(low) & _VAGUE or not (wh or thread_clause(description)):
        return None  # a clause stating a finding ("persuasion is growing with capability") is asked yes or no
    if any(low[i] in ("the", "a", "an") and low[i + 1] in _VAGUE_HEADS for i in range(len(low) - 1)):
        return None
    if " and " in description or " or " in description:  # "what X can and cannot elicit": two verbs to move
        return None

    def done(ws: list[str]) -> str:
        return _cap(" ".join(ws)) + "?"

    if not wh:
        words = _lower_first(" ".join(words)).split()
    if low[0] == "why" and low[1] == "not":  # "why not rely on the chain of thought alone"
        return done(words)
    start = (2 if low[0] == "how" and low[1] in _HOW_DEGREE else 1) if wh else 0
    if wh and low[0] in _SUBJECT_WH and start == 1:  # "what happens to diversity …", "what goes wrong without …"
        w = low[1]
        nxt = low[2] if len(low) > 2 else ""
        if w in _FINITE and w not in ("does", "do", "did") or (w.endswith("s") and "VERB" in pos(w)
                                                               and nxt not in _FINITE and pos(nxt) != {"VERB"}):
            return done(words)
    if low[0] == "when" and any(w in _BE for w in low[1:]):  # "when the rater is itself a model": a condition
        return None
    for i in range(start + 1, min(len(low), start + 1 + MAX_SUBJECT_SPAN)):
        w, prev = low[i], low[i - 1]
        nxt = low[i + 1] if i + 1 < len(low) else ""
        if prev in _DETERMINERS or prev in _PREPOSITIONS:
            continue
        head, subject, rest = words[:start], words[start:i], words[i + 1:]
        if w in _FINITE:
            if w in ("does", "do", "did") and (nxt in _DEGREE or not (nxt and "VERB" in pos(nxt)
                                                                      and nxt in getLemma(nxt, "VERB"))):
                return done([*head, w, *subject, "do", *rest])  # "where verbal confidence does better"
            if w in ("has", "have", "had") and (nxt in _DETERMINERS or nxt in _QUANTIFIERS or nxt == "their"):
                do = {"has": "does", "have": "do", "had": "did"}[w]  # "human raters have their own biases"
                return done([*head, do, *subject, "have", *rest])
            return done([*head, w, *subject, *rest])  # "why a second voice is needed" → "why is a second voice …"
        verbish = "VERB" in pos(w)
        if not verbish:
            continue
        lemma = getLemma(w, "VERB")[0] if getLemma(w, "VERB") else w
        nxt_base = nxt and "VERB" in pos(nxt) and nxt in getLemma(nxt, "VERB")
        if w.endswith("s") and lemma != w and not ((nxt_base or nxt in _FINITE) and "NOUN" in pos(w)):
            return done([*head, "does", *subject, lemma, *rest])  # "why an answer key helps"
        if lemma == w and prev.endswith("s") and not prev.endswith(("ss", "'s", "’s")) and "VERB" in pos(w):
            return done([*head, "do", *subject, w, *rest])  # "why judges favour their own outputs"
    return None


_RELATIVE_NP = re.compile(r"^(?:.*,\s*|(?:a )?(?:catalogue|list|range|set) of\s+)?(?P<np>[\w-]+(?:\s+[\w-]+){0,3}?)\s+"
                          r"(?:that|which)\s+(?P<vp>.+)$", re.I)
MAX_RELATIVE_NP = 4  # words in the noun phrase a relative clause says something of


def _relative_asked(description: str) -> str | None:
    """"other tasks that get worse with scale" → "Which other tasks get worse with scale?"; "other unwanted behaviour
    that survives safety training" → "What other unwanted behaviour survives safety training?". Only a subject
    relative (its first word a verb agreeing with the noun phrase) of a noun phrase with no article."""
    from lemminflect import getLemma

    from rag.lexicon import pos

    d = description.strip().rstrip(".;:")
    m = _RELATIVE_NP.match(d)
    if not m:
        return None
    np_words, vp = m.group("np").split(), m.group("vp").split()
    low = [w.lower() for w in np_words]
    if not vp or len(np_words) > MAX_RELATIVE_NP or low[0] in _DETERMINERS or low[0] in _QUANTIFIERS - {"other", "more"} \
            or set(low) & _VAGUE or set(w.lower() for w in vp) & _VAGUE or len(np_words) + len(vp) > MAX_ASKED_WORDS:
        return None
    head, v = low[-1], vp[0].lower()
    if "NOUN" not in pos(head):
        return None
    many = head.endswith("s") and not head.endswith("ss")
    lemmas = getLemma(v, "VERB") if "VERB" in pos(v) else ()
    if v in _MODALS:
        agrees = True
    elif many:  # "behaviours that worsen", "traits that are …"
        agrees = v in ("are", "were", "do", "have") or (bool(lemmas) and v == lemmas[0])
    else:  # "behaviour that survives", "training that is …"
        agrees = v in ("is", "was", "does", "has") or (bool(lemmas) and v != lemmas[0] and v.endswith("s"))
    if not agrees:
        return None
    return f"{'Which' if many else 'What'} {' '.join(np_words)} {' '.join(vp)}?"


_DEGREE = frozenset("better worse well badly more less".split())  # "does better": "does" is the verb itself


def _lexicon_verb(word: str) -> bool:
    """A base-form verb by the English lexicon that BASE_VERBS lacks ("defeat"), not an -s, -ed or -ing form."""
    from rag.lexicon import pos

    return not word.endswith(("s", "ed", "ing")) and "VERB" in pos(word)


_NOUN_FOLLOWERS = frozenset("with of in that for".split())  # "right answers with …": a plural noun, not a verb
_ADVERBS = frozenset("alone also often rarely only still never always even".split())
_ADJECTIVE_ENDINGS = ("ive", "al", "ous", "ful", "ic", "ed", "ent", "ant")  # "deceptive means …": a noun phrase


# what an abstained answer offers: the nearest subjects the notes do take up
_NEAREST = ["What do the notes find about {b}?", "What is known here about {b}?", "How {does_b} {b} show up in the notes?",
            "Which findings bear on {b}?"]
_PREPOSITIONS = {"of", "for", "in", "on", "from", "to", "with", "across", "as", "that", "which", "under", "by", "about",
                 "between", "without", "when", "after", "during"}


# -ing words that open a noun phrase as adjectives ("competing explanations"), not as gerunds ("recognising tests")
_ING_ADJECTIVES = {"competing", "growing", "rising", "emerging", "existing", "underlying", "increasing", "leading",
                   "missing", "conflicting", "misleading", "matching", "differing", "opposing", "thing", "things"}


def plural(phrase: str) -> bool:
    """Whether a noun phrase's head is plural ("competing explanations for resisting shutdown": yes; "consistency
    across samples": no): the last word before its first preposition ends in a plural -s."""
    words = phrase.split()
    if words and words[0].lower().endswith("ing") and words[0].lower() not in _ING_ADJECTIVES:
        return False  # a gerund's phrase is singular: "recognising tests in practice"
    # the head noun: the word before the first preposition or participle ("internal directions tracking …",
    # "revisions driven by pressure")
    head = next((words[i - 1] for i, w in enumerate(words) if i and (w.lower() in _PREPOSITIONS or (
        w.lower().endswith("ing") and len(w) > 4) or _participle(w))), words[-1] if words else "")
    h = head.lower().strip(",.")
    return len(h) > 3 and h.endswith("s") and not h.endswith(("ss", "us", "is", "ics", "ness", "sis"))


def _participle(word: str) -> bool:
    """A past participle that cannot be a noun ("driven", "trained"; not "need" or "seed")."""
    from rag.lexicon import pos

    p = pos(word)
    return word.lower().endswith(("ed", "en")) and "VERB" in p and "NOUN" not in p


def _agree(wording: str, a: str, b: str = "", **more: str) -> str:
    pa, pb = plural(a), plural(b)
    return wording.format(a=a, b=b, Does_a="Do" if pa else "Does", does_a="do" if pa else "does",
                          Is_b="Are" if pb else "Is", is_b="are" if pb else "is", does_b="do" if pb else "does",
                          Does_b="Do" if pb else "Does", **more)


# a Related bullet's description that points at the note rather than its subject ("the main persistence result")
_META = re.compile(r"^(the (main|original|same|broader|cross|companion|earlier|later|first)\b)|\b(here|this|paper|"
                   r"study|result|results|replication|setup|follow-up|companion|above|below|same|related|another|"
                   r"other|earlier|later|line of work)\b", re.I)
_RELATED_ITEM = re.compile(r"^\s*[-*]\s*\[\[([^\]|#]+)(?:[^\]]*)\]\]\s*[—–:-]+\s*(.+?)\s*$")
MAX_SUBJECT_WORDS = 9  # a longer description is a sentence, not a subject to ask about
# a description with a finite verb is a clause ("post-training can suppress the tendency"), not a subject
_CLAUSE = re.compile(r"\b(can|could|may|might|will|would|should|must|is|are|was|were|does|do|did|has|have|had|"
                     r"makes?|keeps?|shows?|stays?|helps?|means?|fails|works|holds|hurts|matters|persists|survives|"
                     r"generali[sz]es|transfers|backfires|emerges|appears|arises|grows|rises|falls|drops|breaks|"
                     r"changes|reduces|increases|improves|narrows|hides|removes|predicts|explains|separates|depends|"
                     r"resorts?|teaches|rewards|pushes|drives|causes|leads|made|became|showed|found|caused|"
                     r"produced|turned|left|remarked|said)\b", re.I)


def related_items(passages: list[str]) -> list[tuple[str, str]]:
    """(link, description) from a note's "Related" list ("- [[slug]] — what it adds")."""
    out = []
    for p in passages:
        for line in p.splitlines():
            m = _RELATED_ITEM.match(line)
            if m:
                out.append((m.group(1).strip(), m.group(2).strip().rstrip(".")))
    return out


def _has_verb(phrase: str) -> bool:
    """A bare verb after its subject ("the judge's own biases limit debate"): a clause, not a noun phrase."""
    from rag.lexicon import base_verb, pos
    from rag.reading import BASE_VERBS

    words = phrase.lower().split()

    def verb(i: int, w: str) -> bool:  # "limit"; "narrows the output": an -s form before a determiner
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w in BASE_VERBS or (w.endswith("s") and nxt in _DETERMINERS):
            return True
        # "external signals fill the gap": a base-form verb after a plural noun, before its object or at the end
        prev = words[i - 1]
        return base_verb(w) and (nxt in _DETERMINERS or not nxt) and prev.endswith("s") and "NOUN" in pos(prev)

    return any(verb(i, w) and words[i - 1] not in _NOT_BEFORE_VERB
               for i, w in enumerate(words) if i)


def _lower_first(phrase: str) -> str:
    """A sentence-initial capital lowered ("Semantic entropy" → "semantic entropy"), never a name's ("Claude
    Sonnet 4") or an acronym's."""
    rest = phrase.split()[1:]
    if phrase[1:2].islower() and not any(w[:1].isupper() or w[:1].isdigit() for w in rest):
        return phrase[0].lower() + phrase[1:]
    return phrase


def _with_article(phrase: str) -> str:
    """A singular noun phrase with no determiner takes "the" ("catalogue of behaviours that worsen with size"
    → "the catalogue of …"); a plural, a gerund ("detecting the backdoor …"), a name or a short phrase stays."""
    words = phrase.split()
    first = words[0] if words else ""
    if len(words) < 3 or not first[:1].islower() or first.lower() in _DETERMINERS | _QUANTIFIERS or first.endswith("ing") \
            or plural(phrase) or plural(" ".join(words[1:2])):  # "models being probed": a plural, not "the …"
        return phrase
    return f"the {phrase}"


_QUANTIFIERS = {"some", "any", "each", "every", "no", "all", "one", "two", "more", "most", "many", "few", "much",
                "another", "other", "such"}
_WH_WORDS = {"how", "what", "why", "when", "whether", "which", "who", "where"}  # "how checking relates to …": a clause
# words that open a relative or wh- clause: a subject holding one is a noun phrase ("monitoring that depends on …")
_RELATIVE = _WH_WORDS | {"that", "whom", "whose"}
_NOT_BEFORE_VERB = {"to", "of", "and", "or", "the", "a", "an"}  # "to limit", "the test": a verb's form, not a verb
_DETERMINERS = {"the", "a", "an", "its", "their", "his", "her", "our", "this", "that", "these", "those"}


def subject_of(note: dict, avoid: set[str], description: str | None = None) -> str | None:
    """What a neighbouring note is about, as a short noun phrase: its Related-list description when the cited
    note gave one, else its most distinctive tag (one the answer's own notes do not carry)."""
    if description and not _META.search(description) and not _CLAUSE.search(description) \
            and description.split(" ", 1)[0].lower() not in _WH_WORDS \
            and not _has_verb(description) and len(description.split()) <= MAX_SUBJECT_WORDS:
        d = _lower_first(description)
        return _with_article(d)
    tags = [t for t in (note.get("tags") or []) if t.lower() not in avoid]
    if tags:
        from rag.text import as_written

        return as_written(tags[0], [note.get("title", ""), note.get("summary", "")])
    return _title_phrase(note.get("title", ""), avoid)


_TITLE_SPLIT = re.compile(r"[:;,()?!\u2013\u2014]|\.(?=\s|$)| - ")  # not the point of "Claude Sonnet 4.5"
MAX_TITLE_PHRASE = 5  # words: an untagged note is asked about by a short phrase of its title, never the whole title


def _title_phrase(title: str, avoid: set[str]) -> str | None:
    """For a note with no tags (a paper, say): its title's first clause when it is short, else the run of
    content words in it that carries the most capitalised or hyphenated terms, at most MAX_TITLE_PHRASE words."""
    from rag.text import STOPWORDS

    if title.strip().endswith("?"):  # a question's words cut into a phrase read badly ("chat models show")
        return None
    title = re.sub(r"^[A-Z][A-Z ]{2,40}:\s*", "", title.strip())  # a structured abstract's "BACKGROUND:" label
    first = _TITLE_SPLIT.split(title, maxsplit=1)[0].strip()
    words = first.split()
    if 1 <= len(words) <= MAX_TITLE_PHRASE - 1 and first.lower() not in avoid:
        return _lower_first(first)
    runs, cur = [], []
    for w in words:
        if w.lower() in STOPWORDS:
            if cur:
                runs.append(cur)
            cur = []
        else:
            cur.append(w)
    if cur:
        runs.append(cur)
    runs = [r[:MAX_TITLE_PHRASE] for r in runs if len(r) >= 2 or (r and (r[0][:1].isupper() or "-" in r[0]))]
    if not runs:
        return None
    best = max(runs, key=lambda r: (sum(2 * ("-" in w) + w[:1].isupper() for w in r), len(r)))
    phrase = " ".join(best)
    if _CLAUSE.search(phrase) or _has_verb(phrase):  # "Frontier models resort": a clause cut short
        return None
    phrase = _lower_first(phrase)
    return None if phrase.lower() in avoid else phrase


def propose(question: str, concept: str | None, cited: list[dict], neighbours: list[dict],
            descriptions: dict[str, str] | None = None, abstained: bool = False) -> list[Proposal]:
    """Candidate lines, most promising first. ``neighbours``: notes near the answer it did not cite (linked
    from cited notes, or retrieved below the cut), best first; ``descriptions``: what a cited note's Related
    list says of a neighbour. Each line asks how this answer's concept bears on the neighbour's subject; an
    abstained answer asks instead what the notes find about the nearest subjects."""
    descriptions = descriptions or {}
    avoid = {t.lower() for n in cited for t in (n.get("tags") or [])}
    if concept:
        avoid.add(concept.lower())
    out: list[Proposal] = []
    wordings = list(_NEAREST if abstained or not concept else _RELATING)
    # each line of one answer gets its own wording, in an order of its own (a seeded shuffle, not random)
    random.Random(zlib.crc32(question.encode())).shuffle(wordings)
    subjects: set[str] = set()
    threads: list[Proposal] = []
    direct: list[Proposal] = []  # the notes' own threads, asked directly: the most specific lines there are
    if not abstained:
        for n in neighbours:
            line = asked(descriptions.get(n["id"]) or "")
            if line and len(direct) < MAX_ASKED:
                direct.append(Proposal(line, n["id"], specific=True))
    taken = {p.seed_note for p in direct}
    neighbours = [n for n in neighbours if n["id"] not in taken]
    if concept and not abstained:  # the specific threads next: what a cited note says its neighbour finds
        kinds = list(_THREADS)
        random.Random(zlib.crc32(f"thread|{question}".encode())).shuffle(kinds)
        for n in neighbours:
            d = thread_clause(descriptions.get(n["id"]) or "")
            if d and concept.lower() not in d.lower():  # not "… limit debate carry over to debate?"
                wording = kinds[len(threads) % len(kinds)]
                threads.append(Proposal(_cap(_agree(wording, concept, d=d)), n["id"], specific=True))
    for i, n in enumerate(neighbours):
        b = subject_of(n, avoid, descriptions.get(n["id"]))
        if not b or (concept and concept.lower() in b.lower()) or b.lower() in subjects \
                or thread_clause(b, lexicon=True):
            continue  # "the persuasion growing … show about persuasion"; one line a subject, not two wordings of it;
            # a clause ("consistent errors defeat self-checks", its verb known to the lexicon only) is no subject:
            # "Do … change the account of …?" (as a thread it would repeat across answers: the template rate)
        subjects.add(b.lower())
        wording = wordings[i % len(wordings)]
        out.append(Proposal(_cap(_agree(wording, concept or "", b)), n["id"]))
    out = direct + threads[:MAX_THREADS] + out
    seen: set[str] = set()
    uniq = []
    for p in out:
        k = _norm(p.text)
        if k not in seen:
            seen.add(k)
            uniq.append(p)
    return uniq


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


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


NEIGHBOUR_QUERY_K = 12  # notes a proposed line is searched against, to see that it reaches one the answer lacks
MAX_PROPOSALS = 10  # proposals embedded and checked per answer
MIN_LINES = 3  # the format asks for three to five next lines


class NextLines:
    """The next inquiring lines for one answer: proposals from its neighbourhood (notes linked from the cited
    ones, with what their Related lists say of them, and notes retrieved just below the cut), then ``check``."""

    def __init__(self, index, vectors, min_similarity: float, want: int) -> None:
        self.index = index
        self.vectors = vectors  # rag.gather.SentenceVectors
        self.min_similarity = min_similarity
        self.want = want

    def lines(self, question: str, qvec, concept: str | None, cited: list[str], notes: dict[str, dict],
              neighbours: list[str], abstained: bool = False) -> list[str]:
        if self.want == 0:
            return []
        m = self.index.manifest
        cited_rows = [notes[c] for c in cited if c in notes] or list(m.notes(cited).values())
        descriptions: dict[str, str] = {}
        linked: list[str] = []
        for nid, chunks in m.chunks_of(cited).items():
            items = related_items([c["passage"] for c in chunks if c["heading"].strip().lower() == "related"])
            for key, desc in items:
                ids = m.resolve_links([key])
                if ids and ids[0] not in cited:
                    descriptions.setdefault(ids[0], desc)
                    linked.append(ids[0])
        order = list(dict.fromkeys([*linked, *(n for n in neighbours if n not in cited)]))
        rows = m.notes(order)
        proposals = propose(question, concept, cited_rows, [rows[n] for n in order if n in rows], descriptions,
                            abstained=abstained)[:MAX_PROPOSALS]
        if not proposals:
            return []
        cited_set = set(cited)

        def checked(props: list[Proposal], want: int) -> list[str]:
            """``check`` over ``props``: each must retrieve a relevant note the answer did not cite."""
            vecs = self.vectors([p.text for p in props])

            def answers_new_notes(i: int) -> bool:
                hits = self.index.vectors.query(vecs[i], NEIGHBOUR_QUERY_K)
                return any(h.score >= self.min_similarity and h.note_id not in cited_set for h in hits)

            titles = m.titles_matching([p.text for p in props])
            return check(props, question, vecs, qvec, titles, answers_new_notes, want)

        want = min(5, max(3, self.want))
        specific = [p for p in proposals if p.specific]
        if len(specific) >= MIN_LINES:  # enough lines in the notes' own words: no line around a template;
            # the ones nearest this question first, so that answers on one theme do not all ask the same
            sims = self.vectors([p.text for p in specific]) @ qvec
            specific = [specific[i] for i in np.argsort(-sims, kind="stable")]
            kept = checked(specific, want)
            if len(kept) >= MIN_LINES:
                return kept
        kept = checked(proposals, want)
        if len(kept) < MIN_LINES and not abstained:
            # too few relate to the answer's concept: add plain questions about the nearest subjects
            extra = [p for p in propose(question, concept, cited_rows, [rows[n] for n in order if n in rows],
                                        descriptions, abstained=True)[:MAX_PROPOSALS] if p.text not in kept]
            if extra:
                kept += [t for t in checked(extra, want - len(kept)) if t not in kept]
        return kept
