"""What a question names that its best notes never mention.

A bi-encoder scores "Are voice assistants more sycophantic than the same models in text chat?" like an
answerable question: the notes are about sycophancy, just not about voice. What gives such a question away is
a *restriction* on its subject that no best note uses: a group ("children"), a language or place
("in Spanish", "in Europe"), a modality or setting ("voice assistants", "text chat", "image-generation
models"), a resource measured ("how many GPU hours", "in API fees"). This module finds those words, so the
engine can flag the answer ``indirect`` and say what the notes do not take up ("The notes do not take up
voice assistants or text chat: what follows is the closest they come, not an answer.").

The rule reads only the question and the notes' words; no model runs:

* **where to look**: the words after a restricting preposition or phrase (in, than, between, among, with,
  without, of, such as, instead of, other than, to *number*), after "how many"/"how much", and the subject
  after an opening auxiliary ("Are children …", "Does RLHF …"); a run of content words, stopped where a verb
  follows a noun ("… the weaker overseer | keep …"). Names (capitalised words, acronyms) count anywhere.
* **what counts**: a word the best notes (the top hits and the notes the evidence comes from) never use in
  any spelling, that is a noun (per lemminflect's English lexicon: a "voice" or a "fee", not "basically" or
  "getting"), is not one of the words questions use about asking itself (``GENERIC_NOUNS``: "results",
  "methods", "stuff"), is not common across the whole knowledge base (``COMMON_SHARE``), and has no stem in
  the best notes that starts its own or is started by it ("graders" is covered by "graded").

Casual wording is the hard case: "do chatbots basically just suck up to you" holds many words no note uses,
but they are verbs, adverbs and slang outside the restricting slots, which is why the slots and the noun test
are both required. Measured on the demo sets (`inquire eval questions`), see the README."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from rag.evidence import split_sentences
from rag.lexicon import pos as _pos
from rag.query_terms import spelling_variants
from rag.text import STOPWORDS, content_words, stem

__all__ = ["uncovered", "Coverage", "apart", "question_names", "which_apart", "figure_apart", "scale_apart",
           "mechanism_apart", "study_apart"]

# A word in more than this share of the knowledge base's chunks is its own vocabulary ("ai", "feedback",
# "language" in the demo notes): its absence from the best notes says little about the question. Chosen so
# that no word in a demo set's answerable questions that the five demo sets ask in a restricting slot is
# flagged for being merely frequent elsewhere (the demo corpus's 5% line is 17 of 330 chunks).
COMMON_SHARE = 0.05
PREFIX = 5  # letters, at least, of a stem that starts another for the two words to count as one ("grade")
MAX_RUN = 3  # content words taken after a slot ("step-level process supervision")
MAX_PHRASES = 2  # phrases named in the framing's flag
TITLE_CASE_SHARE = 0.5  # capitalised share of a question's longer words above which it is in title case
COUNT_REACH = 3  # words before a counted noun where its count stands ("the eleven winning tasks")

# Nouns that say what is asked rather than what it is about: their absence from a note means nothing.
GENERIC_NOUNS = frozenset("""
ones one thing things stuff bunch lot lots kind kinds sort sorts type types way ways time times part parts
people person someone somebody anyone anybody everyone everybody nobody whoever whatever something anything
everything nothing fact facts case cases example examples question questions answer answers result results
finding findings study studies paper papers work research researchers evidence method methods approach
approaches effect effects role problem problems issue issues idea ideas view views point points sense reason
reasons number numbers amount level levels degree extent difference differences change changes side sides
tendency tendencies ability abilities capacity propensity willingness likelihood chance chances habit
management diagnosis treatment setting settings context perspective role use presence absence basis
condition conditions sample samples length reduction increase decrease risk risks rate rates version form
forms variant variants implication implications another
""".split())

# Openings after which the next words are the question's subject ("Are children …", "Does RLHF …").
_AUX = frozenset("are is do does did was were can could would will should has have had".split())
# Words that open a restriction on what the question is about.
_SLOTS = frozenset("in than between among with without of".split())
_TWO_WORD_SLOTS = {("such", "as"), ("instead", "of"), ("other", "than")}
_IDIOMS = {("in", w) for w in ("order", "fact", "general", "practice", "particular", "turn", "short", "addition",
                               "part", "terms", "effect", "case", "total", "principle", "theory", "time", "vivo",
                               "vitro", "situ")} | \
    {("of", "course"), ("with", "respect"), ("with", "regard")}
# Skipped between a slot and its words: articles, possessives, quantifiers.
_SKIP = frozenset("a an the its their his her my our your this that these those same other such some any "
                  "all both each every many much more most".split())
_ROMAN = re.compile(r"^(?:I{1,3}|IV|VI{0,3}|IX|X{1,3})$")
_STOPS = frozenset({"instead", "such", "other", "rather", "compared", "versus", "vs"})  # a run ends at these
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*|\d[\d.,%]*|[^\sA-Za-z0-9]")


def _is_name(tok: str, i: int, title_case: bool = False) -> bool:
    """A capitalised word not opening the question, or an acronym ("GPU", "API", "LoRA", "Llama"). In a
    question written in title case ("Are Biochemical Markers of Bone Turnover Representative …?", as paper
    titles are) a capital says nothing: only an acronym is a name there."""
    letters = tok.replace("-", "").replace("'", "").replace("’", "")
    if not letters[:1].isalpha():
        return False
    if len(letters) > 1 and sum(ch.isupper() for ch in letters) >= 2:
        return True
    return i > 0 and letters[0].isupper() and tok.lower() != "i" and not title_case


def _title_case(tokens: list[str]) -> bool:
    """Most of the question's longer words are capitalised."""
    words = [t for t in tokens if len(t) > 3 and t[:1].isalpha() and t.lower() not in STOPWORDS]
    return len(words) >= 3 and sum(t[0].isupper() for t in words) > TITLE_CASE_SHARE * len(words)


def _runs(tokens: list[str], title: bool = False) -> list[list[tuple[int, str]]]:
    """The runs of content words after each restricting slot, "how many/much", "which" and an opening
    auxiliary."""
    low = [t.lower() for t in tokens]
    starts: list[tuple[int, bool]] = []  # (first token, whether the run is the subject of the question's verb)
    for i, t in enumerate(low):
        nxt = low[i + 1] if i + 1 < len(low) else ""
        if (t, nxt) in _TWO_WORD_SLOTS:
            starts.append((i + 2, False))
        elif (t, nxt) in _IDIOMS:  # "in order to", "in practice": no restriction
            continue
        elif t in _SLOTS or (t in ("many", "much") and i and low[i - 1] == "how") \
                or (t == "to" and nxt[:1].isdigit()):
            starts.append((i + 1, False))
        elif t == "which" and i == 0:
            starts.append((i + 1, True))
    if low and low[0] in _AUX:
        starts.append((1, True))
    out = []
    for s, subject in dict.fromkeys(starts):
        j = s
        while j < len(low) and low[j] in _SKIP:
            j += 1
        run: list[tuple[int, str]] = []
        while j < len(low) and len(run) < MAX_RUN and tokens[j][:1].isalnum() and low[j] not in STOPWORDS \
                and low[j] not in _STOPS:
            if run and _follows_as_verb(run[-1][1], tokens[j], subject, low[j + 1] if j + 1 < len(low) else "",
                                        title):
                break
            run.append((j, tokens[j]))
            j += 1
        if run:
            out.append(run)
    return out


def _follows_as_verb(prev: str, word: str, subject: bool, nxt: str, title: bool = False) -> bool:
    """``word`` after the noun ``prev`` reads as the question's verb: in the subject, any word that can be one
    ("does the overseer | keep …"); after a preposition, where nouns pile up ("in text chat", "with process
    supervision"), a word that cannot be a noun ("… models | getting …") or one a function word follows
    ("… uncertainty | hold up", "… bits | affect its …")."""
    pos, prev_pos = _pos(word), _pos(prev)
    if _is_name(word, 1, title) or not pos & {"VERB", "AUX"} or not ("NOUN" in prev_pos or not prev_pos):
        return False
    return subject or "NOUN" not in pos or (nxt in STOPWORDS and nxt not in ("of", "and", "or"))


class Coverage:
    """The check over one knowledge base: ``share`` gives a stemmed word's share of the chunks holding it
    (``store.lexical`` knows it; None when there is no lexical index)."""

    def __init__(self, share=None):
        self.share = share

    def uncovered(self, question: str, note_texts: Iterable[str]) -> list[str]:
        """The phrases of ``question`` naming something ``note_texts`` never mention, in question order
        (at most MAX_PHRASES, each a few of the question's own words)."""
        text = " ".join(note_texts)
        have = content_words(text)
        stems = sorted(w for w in have if len(w) >= PREFIX and w.isalpha())
        tokens = _TOKEN.findall(question)
        picked: set[int] = set()  # tokens already inside a named phrase
        title = _title_case(tokens)
        runs = _runs(tokens, title)
        named: list[list[tuple[int, str]]] = []
        opening = {0} | {i + 1 for i, t in enumerate(tokens) if t in (":", ".", "?", "!")}  # a sentence's first word
        defined = {m.group(1) for m in re.finditer(r"\(([A-Z][A-Za-z0-9-]{1,9})\)", question)}  # "… (MRM)"
        for i, t in enumerate(tokens):  # consecutive names are one ("United States")
            if t in defined or _ROMAN.match(t):
                continue
            if _is_name(t, 0 if i in opening else i, title):
                if named and named[-1][-1][0] == i - 1:
                    named[-1].append((i, t))
                else:
                    named.append([(i, t)])
        phrases: list[tuple[int, str]] = []
        for run in runs + named:
            if not any(self._absent(t, 0 if i in opening else i, have, stems,
                                    tokens[i + 1] if i + 1 < len(tokens) else "", title)
                       and not spelled_out(t, text) for i, t in run):
                continue
            bad = [i for i, t in run if self._unused(t, have)]
            words = [t for i, t in run if i >= bad[0]]
            while len(words) > 1 and words[-1].lower() in GENERIC_NOUNS:  # "English ones" -> "English"
                words = words[:-1]
            phrase = " ".join(words).rstrip("'’").removesuffix("'s").removesuffix("’s")
            if any(i in picked for i, _ in run if i >= bad[0]) or not phrase:
                continue
            picked.update(i for i, _ in run)
            phrases.append((bad[0], phrase))
        if not phrases:
            count = self._count_missing(tokens, text)
            if count is not None:
                phrases.append(count)
        if not phrases:
            later = _later_missing(question, text)
            if later is not None:
                phrases.append(later)
        return [p for _, p in sorted(phrases)][:MAX_PHRASES]

    @staticmethod
    def _count_missing(tokens: list[str], text: str) -> tuple[int, str] | None:
        """"How many participants …": when no best note puts a count before the thing counted ("900
        participants", "the eleven winning tasks", "45 tampering episodes"), (its position, "the number of
        participants"). A percentage or a year is no count of it."""
        low = [t.lower() for t in tokens]
        at = next((i for i in range(1, len(low) - 1) if low[i - 1] == "how" and low[i] == "many"), None)
        if at is None:
            return None
        run: list[str] = []
        for t in tokens[at + 1:]:
            if t == "," and run:  # "how many benign, correct examples": the modifiers listed, then the noun
                continue
            if not t[:1].isalnum() or t.lower() in STOPWORDS or len(run) == MAX_RUN:
                break
            run.append(t)
        while run and "NOUN" not in _pos(run[-1]):  # "how many participants were …": up to the counted noun
            run.pop()
        if not run:
            return None
        head = content_words(run[-1])
        mods = content_words(" ".join(run[:-1]))
        words = _TOKEN.findall(text)
        for k, w in enumerate(words):
            if not content_words(w) & head:
                continue
            before = words[max(0, k - COUNT_REACH):k]
            for j, b in enumerate(before):
                if not _is_count(b, before[j + 1] if j + 1 < len(before) else ""):
                    continue
                between = content_words(" ".join(before[j + 1:]))
                if not (mods and between and not between & mods):  # "6,000 coding examples" counts other examples
                    return None
        return at, "the number of " + " ".join(run)

    @staticmethod
    def _words(tok: str) -> set[str]:
        return content_words(tok.replace("-", " ").replace("’", "'").split("'")[0])

    def _unused(self, tok: str, have: set[str]) -> bool:
        """No spelling of ``tok`` is among the notes' words."""
        words = self._words(tok)
        return bool(words) and not tok[:1].isdigit() and \
            not all(any(v in have for v in spelling_variants(w)) for w in words)

    def _absent(self, tok: str, i: int, have: set[str], stems: list[str], following: str,
                title: bool = False) -> bool:
        """``tok`` names something the notes never mention (the module's rule)."""
        if not self._unused(tok, have):
            return False
        words = self._words(tok)
        low = tok.lower().split("'")[0].split("’")[0]
        if low in GENERIC_NOUNS:
            return False
        if self.share is not None and all(self.share(w) >= COMMON_SHARE for w in words):
            return False
        name = _is_name(tok, i, title)
        if not name:
            parts = [p for p in low.split("-") if p]
            pos = _pos(parts[-1]) if parts else set()
            if "NOUN" not in pos or parts[-1].endswith(("ing", "ly")):
                return False
            if "ADJ" in pos and following[:1].isalnum():  # a modifier before its noun: "a long worked solution"
                return False
        long_parts = [p for p in re.findall(r"[a-z]+", low) if len(p) >= PREFIX]
        return not long_parts or not all(_related(p, stems) for p in long_parts)


def spelled_out(acronym: str, text: str) -> bool:
    """Whether ``text`` writes ``acronym`` out as the words it abbreviates: "QA" as "question answering" or
    "question-answering", "RL" as "reinforcement learning". A question's acronym the notes spell out is theirs."""
    if not (2 <= len(acronym) <= 6 and acronym.isalpha() and acronym.isupper()):
        return False
    words = r"[\s-]+".join(rf"{c}[a-z]{{2,}}" for c in acronym.lower())  # content words: not "quite a", "the"
    return any(not set(re.split(r"[\s-]+", m.group(0).lower())) & STOPWORDS
               for m in re.finditer(rf"\b{words}\b", text, re.I))


_MODEL_ID = re.compile(r"^(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9][A-Za-z0-9.-]*$")  # "o1", "o3", "GPT-4o", "4o"
_JOINS = frozenset("and or vs versus with to than".split())  # names joined as things compared or related


def question_names(question: str) -> list[str]:
    """The question's names: runs of capitalised words and acronyms ("Claude 3 Opus", "Apollo", "SAD") and
    model ids ("o1", "GPT-4o"), in order, each once; a number after a name is part of it."""
    tokens = _TOKEN.findall(question)
    title = _title_case(tokens)
    opening = {0} | {i + 1 for i, t in enumerate(tokens) if t in (":", ".", "?", "!")}
    runs: list[list[str]] = []
    last = -2
    for i, t in enumerate(tokens):
        t = t.removesuffix("'s").removesuffix("’s")
        is_name = (_is_name(t, 0 if i in opening else i, title) and not _ROMAN.match(t)) or _MODEL_ID.match(t)
        if is_name or (t[:1].isdigit() and last == i - 1 and runs):
            if last == i - 1 and runs:
                runs[-1].append(t)
            else:
                runs.append([t])
            last = i
    return list(dict.fromkeys(" ".join(r) for r in runs if not all(w[:1].isdigit() for w in r)))


def _says(name: str, text: str) -> bool:
    """The note's text writes ``name`` (its first word, as written: "Claude" for "Claude models"; a trailing
    lowercase part off: "GPT-4" for "GPT-4-class")."""
    head = name.split()[0]
    forms = [head]
    base, _, tail = head.rpartition("-")
    if base and tail.isalpha() and tail.islower() and len(tail) >= 3:
        forms.append(base)  # "GPT-4-class", "GPT-2-level": the name is "GPT-4"
    if any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text) for f in forms):
        return True
    parts = [p for p in head.lower().split("-") if p not in ("a", "an", "the")]
    if len(parts) >= 3:  # "LLM-as-judge" is the notes' "LLM-as-a-judge"
        key = "".join(parts)
        return any(key == "".join(p for p in w.lower().split("-") if p not in ("a", "an", "the"))
                   for w in re.findall(r"[\w]+(?:-[\w]+){2,}", text))
    return False


def apart(question: str, notes: Sequence[str]) -> tuple[str, list[str]] | None:
    """A name the question ties to a study that no best note puts with it: when the note holding most of the
    question's names (at least ``APART_MIN`` of them) lacks exactly one that another best note has ("Did o1 also
    sabotage the shutdown script in Palisade's experiment?": the shutdown note names o3 and Palisade, o1 is only
    in the scheming note, if in any), (that name, the names the note does hold). None when some note holds them all, or when
    the question joins the missing name to another ("Claude and o1"), which asks across notes. The names
    ``uncovered`` passes over (a model id as "o1" is no noun) are caught here too."""
    names = question_names(question)
    if _ACROSS.search(question):  # "both … and …", "a shared explanation": it asks across notes by design
        return None
    if len(names) == 1 and notes:
        return _alone_apart(names[0], notes)
    if len(names) < APART_MIN:
        return None
    held = [[n for n in names if _says(n, t)] for t in notes]
    if not held:
        return None
    best = max(range(len(notes)), key=lambda k: len(held[k]))
    lack = [n for n in names if n not in held[best]]
    if len(lack) != 1 or len(held[best]) < APART_MIN - 1:
        return None
    low = question.lower()
    for other in held[best]:  # "Claude and o1", "o1 versus Claude 3 Opus": a question across notes
        for a, b in ((lack[0], other), (other, lack[0])):
            m = re.search(rf"{re.escape(a.lower())}\W+(\w+)\W+(?:\w+\W+){{0,2}}{re.escape(b.lower().split()[0])}", low)
            if m and m.group(1) in _JOINS:
                return None
    return lack[0], held[best]


APART_MIN = 2  # names a question must hold for the check: with one, see _alone_apart
# A question that asks across notes in so many words: its names may well sit in different notes
_ACROSS = re.compile(r"\bboth\b|\b(?:shared|common|single|one|same) (?:explanation|cause|mechanism|account|"
                     r"pattern|story)\b", re.I)
RARE_NAME_NOTES = 1  # best notes, at most, that write a lone name for it to be tied to one study


def _says_whole(name: str, text: str) -> bool:
    """The note writes the whole name ("Claude Sonnet 4.5", not just "Claude")."""
    words = name.split()
    return bool(re.search(r"(?<![\w-])" + r"\s+".join(re.escape(w) for w in words) + r"(?![\w-])", text, re.I))


def _alone_apart(name: str, notes: Sequence[str]) -> tuple[str, list[str]] | None:
    """One specific name the question puts in a study ("What blackmail rate did Claude Sonnet 4.5 show in the
    replacement scenario?"): when the best note (the one the question is about) does not write it and it is
    written only in another note or two (a rare name, not the corpus's "RLHF"), (the name, []). A name with no
    digit and a single word must be an acronym ("WMDP") to count as specific: "Claude" or "Anthropic" alone
    names a family, which many notes share."""
    words = name.split()
    if len(words) == 1 and not re.search(r"\d", name) and not (name.isupper() and len(name) >= 3):
        return None
    if _says_whole(name, notes[0]):
        return None
    elsewhere = sum(_says_whole(name, t) for t in notes[1:])
    return (name, []) if 1 <= elsewhere <= RARE_NAME_NOTES else None


_WHICH = re.compile(r"(?:^|,\s*|\b(?:of|in|on|from|by|for)\s+)which\s+(?P<member>of\s+the\s+(?:\w+\s+)?)?"
                    r"(?P<kind>(?:[\w-]+\s+){0,3}?[\w-]+?)\s+"
                    r"(?:was|were|is|are|did|do|does|had|has|have|came|got|used|performed|scored|showed)\b", re.I)
# "which of the ten LLMs was most resistant": a member of a set of models, which the note must name; the kinds of
# thing that are models, and the families a model is named by besides a versioned id ("GPT-4o", "o1")
_MODEL_KINDS = frozenset("models model llms llm chatbots assistants systems agents".split())
_MODEL_FAMILY = re.compile(r"\b(?:Claude|GPT|Gemini|Llama|PaLM|Grok|DeepSeek|Qwen|Mistral|Flan|Codex|Opus|Sonnet)\b")


def _anchor(notes: Sequence[str], names: Sequence[str]) -> str:
    """The note a question is about: the one holding most of its names, else the best one (``notes[0]``)."""
    return max(notes, key=lambda t: sum(_says(n, t) for n in names)) if names else notes[0]


def which_apart(question: str, notes: Sequence[str]) -> str | None:
    """The kind of thing a "which X" question asks for ("which datasets were the FlipFlop tasks taken from?") when
    the best note about what it names (the one holding most of its names; else the first) never mentions an X:
    the note says what it did, not which X. None when the note uses the word or a stem of it, or X says nothing
    (``GENERIC_NOUNS``: "which one")."""
    m = _WHICH.search(question)
    if m is None or not notes:
        return None
    kind = m.group("kind")
    head = kind.split()[-1].lower()
    if head in GENERIC_NOUNS or head in STOPWORDS or (_pos(head) and "NOUN" not in _pos(head)):
        return None
    names = question_names(question)
    anchor = _anchor(notes, names)
    if names and not any(_says(n, anchor) for n in names):
        return None
    if m.group("member") and head in _MODEL_KINDS:  # the note counts the models; does it name one of them?
        named = [w for w in _TOKEN.findall(anchor) if _MODEL_ID.match(w) and not w[:1].isdigit()]
        return None if named or _MODEL_FAMILY.search(anchor) else "which of the " + kind.split()[-1]
    have = content_words(anchor)
    if any(v in have for v in spelling_variants(stem(head))) or any(v in have for w in content_words(head)
                                                                     for v in spelling_variants(w)):
        return None  # any part of it is the note's (``_unused`` asks for all parts: a stricter test)
    stems = sorted(w for w in have if len(w) >= PREFIX and w.isalpha())
    if _related(head, stems):
        return None
    return "which " + kind.strip()


# A follow-up in time ("a few weeks later", "after six months"): whether an effect lasted is a question of its own,
# answerable only where a note measures at that span (it names the unit); a time that sets the scene ("for a few
# days in 2025") asks nothing of the kind
_UNIT = r"(minute|hour|day|week|month|year|decade)s?"
_LATER = re.compile(rf"\b(?:(?:a few|a couple of|several|some|\w+)\s+)?{_UNIT}\s+(?:later|afterwards?|on)\b"
                    rf"|\bafter\s+(?:(?:a few|several|some|\w+)\s+)?{_UNIT}\b", re.I)


def _later_missing(question: str, text: str) -> tuple[int, str] | None:
    """(position, phrase) of a follow-up in time the question asks about whose unit no best note uses."""
    m = _LATER.search(question)
    if m is None:
        return None
    unit = (m.group(1) or m.group(2)).lower()
    if re.search(rf"\b{unit}s?\b", text, re.I):
        return None
    return len(_TOKEN.findall(question[:m.start()])), m.group(0)


# "In what percentage of cases did its verdict flip …?", "How often did the annotators disagree …?", "What was the
# human baseline score on SAD?": a figure asked for. The notes answer it only where a figure stands near what is
# measured — a word of the question after its quantity cue. ("How many …" is the count rule's.)
_FIGURE_CUE = re.compile(r"\b(?:what|which)\s+(?:percentage|percent|%|share|proportion|fraction|rate|score|accuracy|"
                         r"auc|auroc)\b|\bhow\s+(?:often|frequently)\b|\b(?:what|which)\s+(?:was|were|is|"
                         r"are)\s+the\s+(?:[\w-]+\s+){0,3}?(?:score|rate|accuracy|percentage|share|auc|auroc)\b", re.I)
_MEASURE_WORDS = frozenset("percentage percent share proportion fraction rate rates score scores accuracy auc auroc "
                           "number often much frequently likely far overall".split())
_RATIO_WORDS = frozenset("half halves third thirds quarter quarters fifth fifths tenth twice double doubled triple "
                         "tripled majority".split())
FIGURE_REACH = 6  # tokens between a figure and a measured word for the one to be a figure of the other
FIGURE_PHRASE = 6  # words of the question named in the flag


def _is_figure(tokens: list[str], k: int, counts: bool = True) -> bool:
    """Token ``k`` is a figure: a number that is no year and no version in a name ("Claude 3", "GPT-4"), a
    percentage, a ratio word ("half", "twice") or, with ``counts``, a count word ("two answers" counts things, it
    is no percentage or score)."""
    tok, low = tokens[k], tokens[k].lower()
    if low in _RATIO_WORDS or (counts and low in _COUNT_WORDS):
        return True
    if not tok[:1].isdigit():
        return False
    if k and tokens[k - 1][:1].isupper() and tokens[k - 1].isalpha():  # "Claude 3", "Llama 2", "PaLM 2"
        return False
    digits = low.replace(",", "").rstrip(".%")
    return not (len(digits) == 4 and digits.isdigit() and digits[:2] in ("19", "20"))


def _figure_missing(tokens: list[str], text: str, share=None) -> tuple[int, str] | None:
    """(position, "a figure for …") when the question asks a figure and no best-note sentence holds one near a
    word the question measures, though the notes use such a word (the question is theirs, only the figure is
    not). None when there is no cue, or nothing measured. A word in COMMON_SHARE of the knowledge base ("model")
    stands near some figure everywhere and measures nothing."""
    question = " ".join(tokens)
    m = _FIGURE_CUE.search(question)
    if m is None:
        return None
    after = _TOKEN.findall(question[m.start():])[1:]  # the cue's own words too: "the human baseline score"
    counts = m.group(0).lower().split()[0] == "how"  # "how often": a count answers; "what percentage": a count does not
    title = _title_case(tokens)
    measured = {stem(t.lower()) for i, t in enumerate(after) if t[:1].isalpha() and t.lower() not in STOPWORDS
                and t.lower() not in GENERIC_NOUNS and t.lower() not in _MEASURE_WORDS and len(t) > 2
                and not _is_name(t, i + 1, title) and not (share is not None and share(t.lower()) >= COMMON_SHARE)}
    if not measured:
        return None
    seen = False
    for sentence in split_sentences(text):
        toks = _TOKEN.findall(sentence)
        at = [k for k, t in enumerate(toks) if t[:1].isalpha() and stem(t.lower()) in measured]
        if not at:
            continue
        seen = True
        figures = [k for k in range(len(toks)) if _is_figure(toks, k, counts)]
        if any(abs(f - a) <= FIGURE_REACH for f in figures for a in at):
            return None
    if not seen:
        return None
    cue = m.group(0).split()
    inside = cue[3:-1] if cue[0].lower() in ("what", "which") and len(cue) > 3 else []  # "the human baseline"
    rest = [t for t in _TOKEN.findall(question[m.end():]) if t[:1].isalnum()]
    while rest and (rest[0].lower() in _AUX or rest[0].lower() in ("of", "cases", "the", "times", "runs")):
        rest = rest[1:]  # "… of cases did its verdict flip": what is counted, then its verb
    words = [*inside, cue[-1], *rest] if inside else rest
    words = [w for w in words if w.lower() not in _AUX][:FIGURE_PHRASE]
    while words and words[-1].lower() in STOPWORDS:  # "… on SAD and": not a dangling conjunction
        words = words[:-1]
    return len(_TOKEN.findall(question[:m.start()])), "a figure for " + " ".join(words)


def figure_apart(question: str, notes: Sequence[str], share=None) -> str | None:
    """"a figure for …" when the question asks a figure (``_figure_missing``) that the note it is about does not
    give: the note holding most of the question's names, else the best one. Other notes' figures of the same
    words ("answers flipped in 46%") are of other studies."""
    if not notes:
        return None
    anchor = _anchor(notes, question_names(question))
    found = _figure_missing(_TOKEN.findall(question), anchor, share)
    return found[1] if found else None


# "Does the optimism bias grow with model size?", "… get bigger or smaller as the underlying model gets larger?": a
# trend over model scale asked of a study. The notes answer it only where the study itself compares sizes.
_SCALE_CUE = re.compile(r"\b(?:with|across|by)\s+(?:model\s+)?(?:size|scale)\b|\bmodel\s+(?:size|scale)\b|"
                        r"\bas\s+(?:the\s+)?(?:underlying\s+|base\s+)?models?\s+(?:gets?|grows?|becomes?|are\s+made)\s+"
                        r"(?:larger|bigger|smaller)\b|\b(?:larger|bigger|smaller)\s+models?\b|\bscal(?:e|es|ing)\s+up\b|"
                        r"\bparameter\s+counts?\b", re.I)
_SCALE_WORDS = re.compile(r"\b(?:scale[sd]?|scaling|sizes?|sized|larger|largest|bigger|biggest|smaller|smallest|"
                          r"parameters?|billion|\d+(?:\.\d+)?[BM])\b", re.I)


def scale_apart(question: str, notes: Sequence[str]) -> str | None:
    """"how it changes with model size" when the question asks a trend over model scale and the note it is about
    (the one holding most of its names, else the best one) never compares sizes: other notes' scaling results
    are of other behaviours."""
    if not notes or not _SCALE_CUE.search(question):
        return None
    anchor = _anchor(notes, question_names(question))
    return None if _SCALE_WORDS.search(anchor) else "how it changes with model size"


# "What mechanism do Laine et al. propose for why …?", "What's the actual mechanism that makes … fail?": an
# explanation asked of a study. The notes answer it only where that study's sentences on the matter explain.
_MECHANISM_CUE = re.compile(r"\b(?:what|which)(?:'s|\s+is|\s+was)?\s+(?:\w+\s+){0,2}mechanisms?\b|"
                            r"\bthe\s+(?:actual\s+|underlying\s+)?mechanism\b|\bmechanistic(?:ally)?\b", re.I)
_EXPLAINS = re.compile(r"\b(?:because|since|due\s+to|explain\w*|driven\s+by|caused\s+by|causes?|so\s+that|"
                       r"suggest\w*|leads?\s+to|as\s+a\s+result|by\s+\w+ing|via|feature\w*|persona\w*|"
                       r"represent\w*|direction\w*|circuit\w*|account\w*\s+for|attribut\w*)\b", re.I)
MECHANISM_SHARED = 2  # question words a note sentence must hold to be on the matter asked


def mechanism_apart(question: str, notes: Sequence[str], share=None) -> str | None:
    """"the mechanism behind it" when the question asks one and no sentence of the note it is about (most of its names,
    else the best note) that is on the matter (MECHANISM_SHARED of the question's uncommon words) explains
    anything: "Adding a short reminder that the reader is an AI model improved scores" reports, it does not
    say why."""
    if not notes or not _MECHANISM_CUE.search(question):
        return None
    anchor = _anchor(notes, question_names(question))
    asked = {w for w in content_words(_MECHANISM_CUE.sub(" ", question))
             if w not in GENERIC_NOUNS and not (share is not None and share(w) >= COMMON_SHARE)}
    on_point = [s for s in split_sentences(anchor) if len(content_words(s) & asked) >= MECHANISM_SHARED]
    if not on_point or any(_EXPLAINS.search(s) for s in on_point):
        return None
    return "the mechanism behind it"


def study_apart(question: str, notes: Sequence[str], share=None) -> str | None:
    """What the note the question is about lacks of what it asks, by the first check that finds something:
    which X (``which_apart``), a figure (``figure_apart``), a trend over model size (``scale_apart``), a
    mechanism (``mechanism_apart``); None when none does."""
    return (which_apart(question, notes) or figure_apart(question, notes, share) or scale_apart(question, notes)
            or mechanism_apart(question, notes, share))


def _is_count(tok: str, nxt: str) -> bool:
    """A count: a number that is not a percentage, a year or a version ("900", "45", "eleven"; not "81%",
    "2024", "3.5")."""
    low = tok.lower()
    if low in _COUNT_WORDS:
        return True
    if not low[:1].isdigit() or nxt == "%" or low.endswith("%") or "." in low.rstrip(".,"):
        return False
    digits = low.replace(",", "").rstrip(".")
    return digits.isdigit() and not (len(digits) == 4 and digits[:2] in ("19", "20"))


_COUNT_WORDS = frozenset("two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                         "sixteen seventeen eighteen nineteen twenty thirty forty fifty hundred hundreds thousand "
                         "thousands dozen dozens million millions".split())


def _related(word: str, note_stems: list[str]) -> bool:
    """One of the notes' stems starts ``word``'s stem or is started by it: "graders" and "graded" (grader,
    grade), "trader" and "trading" (trader, trade); not "process" and "procedure" (process, procedur)."""
    root = stem(word)
    return len(root) >= PREFIX and any(root.startswith(w) or w.startswith(root) for w in note_stems)


def uncovered(question: str, note_texts: Sequence[str], share=None) -> list[str]:
    """``Coverage(share).uncovered(question, note_texts)``."""
    return Coverage(share).uncovered(question, note_texts)
