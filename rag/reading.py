"""Reading a question: what form of answer it wants, the question as a clause a framing can carry, and the
concept it turns on (taken from the notes that answer it).

* ``form``: ``why`` (a cause), ``quantity`` (how often / how much / how many: a number), ``condition`` (when /
  under what conditions), ``whether`` (does / is / can: a result with its direction), ``how`` (a mechanism),
  ``what`` (anything else).
* ``clause``: "Why do models resist X?" → "why models resist X"; "Does RLHF hurt calibration?" →
  "whether RLHF hurts calibration" — grammatical for every form, or None when no safe rewrite exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.text import STOPWORDS

_AUX_DO = {"do", "does", "did"}
_MODALS = {"can", "could", "will", "would", "should", "might", "may", "must"}
_HAVE = {"has", "have", "had"}
_BE = {"is", "are", "was", "were"}
_AUX_ALL = _AUX_DO | _MODALS | _HAVE | _BE
_WH = {"why", "how", "what", "which", "who", "when", "where", "whom"}
_QUANTITY = re.compile(r"^((by )?how (often|much|many|large|big|long|likely|common|frequent(ly)?)|"
                       r"what (share|fraction|proportion|percentage|percent|rate|number|portion)|at what rate)\b",
                       re.I)
_CONDITION = re.compile(r"^(when|under (what|which) (conditions?|circumstances)|in (what|which) "
                        r"(situations?|cases?|settings?|conditions?)|what (conditions|circumstances))\b", re.I)
# a copula question's predicate usually starts at one of these ("why is X so well calibrated")
_PREDICATE = re.compile(r"^(so|too|more|less|better|worse|still|often|rarely|always|never|any|as|such|well|poorly|badly|"
                        r"worth|likely|unlikely|true|real|aware|prone|immune|safe|sure|enough|accurate|similar|robust|"
                        r"honest|\w+(ed|ive|able|ible|ful|al|ous|ic|ant|ent|ing))$", re.I)


@dataclass
class Reading:
    question: str
    form: str
    clause: str | None  # the question as a clause after "This explores …", or None
    lead: str | None = None  # a scene-setting phrase or condition before the question proper

    @property
    def wants_number(self) -> bool:
        return self.form == "quantity"


def _third_person(verb: str) -> str:
    v = verb.lower()
    irregular = {"be": "is", "have": "has", "do": "does", "go": "goes"}
    if v in irregular:
        return irregular[v]
    if re.search(r"(s|sh|ch|x|z|o)$", v):
        return verb + "es"
    if re.search(r"[^aeiou]y$", v):
        return verb[:-1] + "ies"
    return verb + "s"


# common nouns a question may open its subject with (lower-cased when a clause starts with them)
_NOT_VERBS = set("""models model language large ai llm llms systems system agents agent training human humans people
users user chatbots chatbot assistants assistant ones reasoning chain chains monitors monitor debate reward rewards
feedback bigger larger smaller newer stronger weaker frontier base chat instruction safety alignment""".split())
MAX_WH_PHRASE = 5  # words in a wh phrase before its auxiliary ("which specific medical QA datasets did …")


def _lower_first(words: list[str]) -> list[str]:
    """The first word lower-cased when it is a common word ("Models", "The"), not a name ("Claude")."""
    if words and words[0][:1].isupper() and words[0][1:].islower() and \
            (words[0].lower() in STOPWORDS or words[0].lower() in _NOT_VERBS):
        return [words[0].lower()] + words[1:]
    return words


def clause_of(question: str) -> str | None:
    """The question as a clause that can follow "This explores …" (see the module docstring). A compound
    question keeps its first part ("…, and how does it show up …" is left to the reading)."""
    q = " ".join(question.strip().split())
    q = re.split(r"\?\s+(?=\S)", q, maxsplit=1)[0]  # "How did X behave? Did it …?": the first question, not both
    q = q.rstrip("?!. ")
    q = re.split(r"(?:,|;)\s*(?:and|or|but)?\s*(?=(?:why|how|what|which|who|when|where|does|do|did|is|are|was|"
                 r"were|can|could|would|should|will)\b)", q, maxsplit=1, flags=re.I)[0].strip(" ,;")
    q = re.split(r",\s*(?:and|but)\s+if\b", q, maxsplit=1, flags=re.I)[0]  # "…, and if I need X should I …"
    # "does it stop or does it just get better at hiding": the second question is left to the reading
    q = re.split(r"\s+(?:or|and)\s+(?=(?:does|do|did|is|are|will|can|would)\s+(?:it|they|the|a|an|you|he|she)\b)",
                 q, maxsplit=1, flags=re.I)[0]
    # "what is X and why does it …": the second question is left to the reading too
    q = re.split(r"\s+and\s+(?=(?:why|how|what|when|where|which|who)\s)", q, maxsplit=1, flags=re.I)[0]
    words = q.split()
    if len(words) < 3:
        return None
    w0 = words[0].lower()
    if w0 == "how" and words[1].lower() == "come":  # "how come X made Y": a why-question in a clause's word order
        return " ".join(["why", *_lower_first(words[2:])])
    if w0 in _WH:
        # "how far can X …", "how many GPU hours did X …": the wh phrase runs up to the first auxiliary
        lead = next((p for p in range(1, min(MAX_WH_PHRASE + 1, len(words) - 1)) if words[p].lower() in _AUX_ALL
                     and not any(w.lower() in BASE_VERBS and not (k == p - 1 and "NOUN" in _pos(w.lower()))
                                 for k, w in enumerate(words[2:p], start=2))), 1)
        # "what share of …": a noun; a word that can be a noun right before the auxiliary is the phrase's head
        # ("what blackmail rate did …"), not a verb
        head, aux, rest = [w0, *words[1:lead]], words[lead].lower(), words[lead + 1:]
        if aux in _AUX_DO:  # "why do models resist X" → "why models resist X"; "why did X make" → "why X made"
            split = _inflected(rest, aux)
            if split is None and lead > 1 and rest and w0 in ("which", "what", "who"):
                split = [aux, *rest]  # "which ones do it the most": the auxiliary is the main verb
            return " ".join([*head, *split]) if split else None
        if aux in _BE and lead > 1 and rest and w0 in ("which", "who") and (
                rest[0].lower() in _SUPERLATIVE | {"more", "less"} or rest[0].lower().endswith("est")):
            return " ".join([*head, aux, *rest])  # "which of the ten models was most resistant …": the subject
        if aux in _BE and lead > 1 and rest and w0 in ("which", "what", "who", "whose", "how") and _participle(rest[0]):
            return " ".join([*head, aux, *rest])  # "which model was fine-tuned on …": the wh phrase is the subject
        if aux in _BE and lead > 1 and rest:  # "how strong is the evidence that …" → "how strong the evidence … is"
            rest = _lower_first(rest)
            to = next((i for i, w in enumerate(rest) if w.lower() == "to" and i > 0), None)
            if to is not None:  # "how likely is a model to fake it" → "how likely a model is to fake it"
                return " ".join([*head, *rest[:to], aux, *rest[to:]])
            part = next((i for i, w in enumerate(rest) if i > 0 and _participle(w)), None)
            if part is not None and (len(rest) - part == 1 or len(rest) - part == 2 and rest[-1].lower() in
                                     _PREPOSITIONS) and not {"that", "whether", "if"} & {w.lower() for w in rest}:
                # "which datasets were the tasks taken from" → "… the tasks were taken from"
                return " ".join([*head, *rest[:part], aux, *rest[part:]])
            return " ".join([*head, *rest, aux])
        if aux in _BE and lead == 1 and rest and w0 in ("what", "who", "which") and rest[0].lower() != "there":
            if rest[0].lower() in ("happening", "going", "changing"):  # "what is happening inside …" keeps its order
                return " ".join([w0, aux, *rest])
            return " ".join([w0, *_lower_first(rest), aux])  # "what is the KV cache" → "what the KV cache is"
        if aux in _MODALS or aux in _HAVE or aux in _BE:
            split = _aux_moved(rest, aux)
            return " ".join([*head, *split]) if split else None
        if lead == 1:
            return " ".join([w0] + _lower_first(words[1:]))  # "what happens when …", "which models …"
        return None
    if w0 in _AUX_DO:  # "does RLHF hurt calibration" → "whether RLHF hurts calibration"
        split = _inflected(words[1:], w0)
        return " ".join(["whether", *split]) if split else None
    if w0 in _MODALS or w0 in _HAVE or w0 in _BE:
        split = _aux_moved(words[1:], w0)
        return " ".join(["whether", *split]) if split else None
    return None


def _participle(word: str) -> bool:
    """A past participle that cannot be a noun ("fine-tuned", "trained", "given"; not "need" or "seed")."""
    w = word.lower().split("-")[-1]
    p = _pos(w)
    return len(w) > 3 and w.endswith(("ed", "en")) and "NOUN" not in p and (bool(p) or w.endswith("ed")) \
        and p != {"ADV", "ADJ"}  # not "seven" (no entry) or "often"


def _aux_moved(words: list[str], aux: str) -> list[str] | None:
    """Subject, then the auxiliary, then the rest: "a model can be trusted", "X is so well calibrated"."""
    words = _lower_first(words)
    if aux in _BE and words and words[0].lower() == "there":  # "are there tasks where …" → "there are tasks …"
        return ["there", aux, *words[1:]] if len(words) > 1 else None
    if aux in _BE:
        subj, pred = _subject_and_predicate(words)
        return [*subj, aux, *pred] if subj and pred else None
    i = _verb_at(words, extra={"be", "been"})
    if i is None:
        return None
    while i > 1 and words[i - 1].lower() in _ADVERBS:  # "you can still trust", not "you still can trust"
        i -= 1
    return words[:i] + [aux] + words[i:]


# adverbs that sit between a subject and its verb ("the final answer even changes")
_ADVERBS = {"still", "actually", "really", "just", "ever", "even", "also", "always", "never", "often", "usually",
            "reliably", "simply", "merely", "eventually", "secretly", "genuinely", "truly"}


def _verb_at(words: list[str], extra: set[str] | frozenset = frozenset()) -> int | None:
    """Where the bare verb is: the first known one after a subject of at least one word (not right after a
    determiner, preposition or "to": "to review and revise" is the subject's infinitive; after "having",
    "making" or "letting" the subject holds a bare verb of its own: "having models argue")."""
    skip = 1 if words and words[0].lower() in ("having", "making", "letting", "helping", "watching") else 0
    infinitive = False
    after_np = 0  # where a noun phrase opened by a possessive ends ("Claude Opus 4's blackmail rate in …")
    for i in range(1, len(words)):
        w, prev = words[i].lower().rstrip(",;:"), words[i - 1].lower()
        if i < after_np:
            continue
        if prev.endswith(("'s", "’s", "s'")):
            end = _noun_run(words, i)
            if end < len(words) and words[end].lower() in _PREPOSITIONS:
                after_np = end  # the nouns after the possessive, up to a preposition, are its noun phrase
                continue
            if end - 1 > i and words[end - 1].lower() in BASE_VERBS:
                return end - 1  # "the model's answer change": the last of them is the verb
        if after_np and w in BASE_VERBS and i + 1 < len(words) and words[i + 1].lower() in BASE_VERBS \
                and words[i + 1].lower() not in _NO_VERB_AFTER and "NOUN" in _pos(w) \
                and prev not in _PRONOUNS \
                and (i + 2 >= len(words) or "NOUN" not in _pos(words[i + 2])):
            continue  # "… rate in the replacement test drop off": in the phrase after it, a noun before the verb
        if w in BASE_VERBS and w not in _CAUSATIVE and "NOUN" in _pos(w) and prev not in _PRONOUNS \
                and prev not in _NO_VERB_AFTER and i + 2 < len(words) and _plural_noun(words[i + 1]) \
                and words[i + 2].lower() in BASE_VERBS and "NOUN" not in _pos(words[i + 2]):
            continue  # "the larger proxy reward models get …": a noun before a plural noun and then the verb
        if infinitive and i >= 2 and words[i - 2].lower() == "to" and prev in BASE_VERBS and w in BASE_VERBS \
                and "NOUN" in _pos(prev):
            continue  # "learning to reward hack make …": "reward hack" is the infinitive's, "make" the verb
        if prev == "to":
            infinitive = True
        elif prev not in ("and", "or") and w not in BASE_VERBS:
            infinitive = False
        if i + 2 < len(words) and words[i + 1].lower() in _ADVERBS and words[i + 2].lower() in BASE_VERBS:
            continue  # "the final answer even change": the noun before an adverb and the verb
        if (w in BASE_VERBS or w in extra) and prev not in _NO_VERB_AFTER and not (infinitive and prev in ("and", "or")):
            if skip:
                skip -= 1
                continue
            return i
    return None


_PRONOUNS = frozenset("it they we you i he she who".split())
_CAUSATIVE = frozenset("help make let have see watch hear get".split())  # "help models generalize"


def _plural_noun(word: str) -> bool:
    w = word.lower().strip(",.;:")
    return w.endswith("s") and not w.endswith("ss") and "NOUN" in _pos(w)


_PREPOSITIONS = frozenset("in on of for at from with during under over across after before between among within "
                          "without about against".split())


def _pos(word: str) -> set[str]:
    from rag.lexicon import pos

    return pos(word.strip(",.;:").lower())


def _noun_run(words: list[str], i: int) -> int:
    """The end of the run of words from ``i`` that can be nouns."""
    j = i
    while j < len(words) and "NOUN" in _pos(words[j]):
        j += 1
    return j


def _inflected(words: list[str], aux: str) -> list[str] | None:
    """Subject and predicate with do-support undone: "models resist", "RLHF hurts", "training made"."""
    words = _lower_first(words)
    i = _verb_at(words)
    if i is None and len(words) > 1 and words[-1].lower() == "do":
        i = len(words) - 1  # "how well did the strongest one do"
    if i is None:
        return None
    out = list(words)
    # the verb, and a verb coordinated with it ("removes dangerous behaviour or just teaches models to hide it")
    targets = [i] + [j for j in range(i + 2, len(words)) if words[j].lower() in BASE_VERBS
                     and (words[j - 1].lower() in ("and", "or") or words[j - 2].lower() in ("and", "or")
                          and words[j - 1].lower() in ("just", "simply", "also", "merely", "instead"))]
    for j in targets:
        core = words[j].rstrip(",;:")  # "did X actually sample, for …": the verb keeps its comma
        if aux == "does":
            out[j] = _third_person(core) + words[j][len(core):]
        elif aux == "did":
            out[j] = _past(core) + words[j][len(core):]
    return out


_IRREGULAR_PAST = dict(p.split(":") for p in """become:became begin:began break:broke bring:brought build:built
catch:caught choose:chose come:came cost:cost cut:cut do:did drive:drove fall:fell feel:felt find:found
forget:forgot get:got give:gave go:went grow:grew hide:hid hold:held keep:kept know:knew lead:led leave:left
lose:lost make:made mean:meant mislead:misled pay:paid put:put read:read rise:rose run:ran say:said see:saw
seek:sought sell:sold shrink:shrank shut:shut sit:sat speak:spoke spread:spread stand:stood take:took
teach:taught tell:told think:thought win:won withhold:withheld write:wrote overfit:overfit have:had""".split())
_DOUBLE = {"stop", "drop", "flag", "plan", "slip", "spot", "admit", "prefer", "refer", "flip", "control",
           "commit", "permit", "ship", "step", "trim", "tap"}


def _past(verb: str) -> str:
    v = verb.lower()
    if v in _IRREGULAR_PAST:
        return _IRREGULAR_PAST[v]
    if v in _DOUBLE:
        return verb + verb[-1] + "ed"
    if v.endswith("e"):
        return verb + "d"
    if re.search(r"[^aeiou]y$", v):
        return verb[:-1] + "ied"
    return verb + "ed"


_NO_VERB_AFTER = {"a", "an", "the", "its", "their", "his", "her", "our", "your", "my", "of", "to", "that", "this",
                  "these", "those", "with", "for", "in", "on", "by", "own", "one", "each", "every", "any", "some",
                  "no", "first", "same", "user's", "model's", "its"}
# Bare verbs that questions about research findings use. A question whose verb is not here is not rewritten
# (its framing quotes no clause instead of risking bad grammar).
BASE_VERBS = frozenset("""
accept achieve act adapt add admit affect agree aim allow alter amplify answer appear apply argue arise ask assess
avoid back beat become begin behave believe benefit blackmail blame break bring build calibrate care catch cause
change cheat check choose claim collapse come compare compete comply conceal conclude conform continue contribute
control convince cooperate copy correct cost count create cut deceive decide decline decrease defect defend
degrade deliver demand depend describe detect develop differ disagree disappear discover distinguish do doubt
drift drive drop earn emerge enable encourage end endorse erode escape estimate evaluate evolve exaggerate exceed
exist expect explain exploit expose fail fake fall favour favor feel find fit fix flag flatter flip fold follow
forget form game generalise generalize get give go grade grow guard guess handle happen harm hold help hide hurt
identify ignore imitate impair imply improve include increase indicate infer influence inform interfere judge
keep know lack last lead learn leave lie limit link live look lose lower make manage manipulate matter mean
measure mention mimic mislead miss misbehave monitor move need notice obey obfuscate offer operate
optimise optimize outperform overfit overestimate override pass pay perform persist persuade pick plan play
predict prefer preserve pretend prevent produce prompt protect prove provide pursue push put raise rank rate
reach react read realise realize reason recall recognise recognize recover reduce refer reflect refuse reinforce
reject relate rely remain remember remove repeat replace report represent require resist respond rest result
reveal reverse reward rise rule run sabotage say scale scheme score see seek seem sell share shift show shrink
shut side sit slip solve speak spot spread stall stand start state stay steer stop struggle succeed suffer suggest
support suppress surface survive suspect switch take talk tamper teach tell tend test think threaten trade train
transfer treat trick trust try turn undermine understand update use value verify vote want warn watch weaken win
withhold work worry write yield propose attribute adopt employ select observe suck cave bluff snitch panic freak kiss butter brown-nose rat edit delete modify
disable bypass classify sort cite quote sandbag collude hack memorise memorize exploit escalate attempt
have
""".split())


_SUPERLATIVE = frozenset("most least best worst only first last".split())


def _subject_and_predicate(words: list[str]) -> tuple[list[str], list[str]]:
    """A copula or modal question's rest split into subject and predicate at the first predicate-looking word
    after at least one subject word; ([], []) when none is found."""
    words = _lower_first(words)
    for i in range(1, len(words)):
        if words[i].lower() == "the" and i + 1 < len(words) and (words[i + 1].lower() in _SUPERLATIVE or
                                                                  words[i + 1].lower().endswith("est")):
            return words[:i], words[i:]  # "GPT-4o | the most prone to scheming"
        if _PREDICATE.match(words[i]) and words[i - 1].lower() not in ("a", "an", "the", "of", "to", "that") \
                and words[i - 1].lower() not in _ADVERBS:  # not "it actually that | likely": no subject ends so
            return words[:i], words[i:]
        if words[i].lower() in _ADVERBS and i + 1 < len(words) and _PREDICATE.match(words[i + 1]):
            return words[:i], words[i:]  # "multi-agent debate | actually worth the extra calls"
    return [], []


def form_of(question: str) -> str:
    q = " ".join(question.strip().lower().split())
    q = re.sub(r"^(so|and|but|ok|okay|hey|also|then)[, ]+", "", q)
    if _QUANTITY.match(q):
        return "quantity"
    if _CONDITION.match(q):
        return "condition"
    first = q.split(" ", 1)[0] if q else ""
    if first in ("why", "wherefore") or q.startswith(("what makes", "what causes", "what explains", "what drives",
                                                        "how come")):
        return "why"
    if first == "how":
        return "how"
    if first in _AUX_DO | _MODALS | _HAVE | _BE:
        return "whether"
    if first in ("what", "which", "who", "where", "whom"):
        return "what"
    # casual wording ("r models just agreeing with me", "if i push back will it fold")
    if re.search(r"\b(why|because)\b", q):
        return "why"
    if re.search(r"\bhow (often|much|many)\b", q):
        return "quantity"
    return "whether" if q.endswith("?") or re.search(r"\b(will|does|do|is|are|can)\b", q) else "what"


# "After RL toward compliance, what share …", "If no proxy is safe, what do …": the question proper follows
_LEADING_PHRASE = re.compile(r"^[^?]{3,120}?,\s+(?=(?:(?:by|in|on|to|at|for|of|from|with) (?:roughly |about )?"
                             r"(?=what|which|how))?"
                             r"(?:why|how|what|which|who|when|where|does|do|did|is|are|was|"
                             r"were|can|could|would|should|will|has|have)\b)", re.I)
# words a typed question opens with that say nothing ("so", "wait so", "ok")
_FILLER = re.compile(r"^(?:(?:so|and|but|ok|okay|hey|also|then|wait|um|hmm)\b[,]?\s+)+", re.I)
# "is there evidence that X": the question is whether X
_EVIDENCE_THAT = re.compile(r"^(?:is|was) (?:there|it) (?:any |much |good |strong |real |clear |really )?"
                            r"(?:evidence|proof|signs?|indications?|reason to (?:think|believe)|true|the case) that\s+",
                            re.I)
# a condition typed before the question with no comma ("if you train it to stop does it …"): the question
# proper starts at an auxiliary followed by its subject
_SUBJECT_START = {"it", "they", "the", "a", "an", "you", "i", "we", "models", "model", "ai", "ais", "this", "that",
                  "these", "those", "he", "she", "bots", "chatbots", "llms"}
_CONDITION_OPENERS = {"if", "when", "after", "once", "whenever"}
MAX_LEAD_WORDS = 16  # a scene-setting phrase longer than this is left out of the framing's clause
_CASUAL = {"i": "you", "me": "you", "my": "your", "u": "you", "ur": "your", "ppl": "people", "r": "are"}
_TO_GIVEN = re.compile(r"^(?:since|because|as|now that)\s+", re.I)


def _split_lead(question: str) -> tuple[str | None, str]:
    """(the scene-setting phrase or condition before the question proper, the question proper)."""
    q = _FILLER.sub("", " ".join(question.strip().split()))
    m = _LEADING_PHRASE.match(q)
    first_two = [w.lower() for w in q.split()[:2]]
    asks = bool(first_two) and (first_two[0] in _AUX_ALL or first_two[0] in _WH and len(first_two) > 1
                                and first_two[1] in _AUX_ALL)
    if m and not asks:  # "what is grokking, where …" and "when does X, and when …" are questions, not scenes
        return q[:m.end()].rstrip(" ,"), q[m.end():]
    words = q.split()
    if words and words[0].lower() in _CONDITION_OPENERS and not asks:
        for i in range(3, len(words) - 2):
            if words[i].lower() in _AUX_ALL and words[i + 1].lower() in _SUBJECT_START \
                    and words[i - 1].lower() not in _AUX_ALL | {"to", "that", "which", "who"}:
                wh = [j for j in range(2, i) if words[j - 1].endswith(",") and words[j].lower() in _WH]
                if wh:  # "When a user …, how often on average did …": the question starts at its wh word
                    return " ".join(words[:wh[-1]]).rstrip(","), " ".join(words[wh[-1]:])
                return " ".join(words[:i]), " ".join(words[i:])
    return None, q


def _lead_phrase(lead: str) -> str | None:
    """The leading phrase as it follows a clause: "since X" reads "given that X"; a name keeps its capital."""
    if len(lead.split()) > MAX_LEAD_WORDS:
        return None
    lead = _TO_GIVEN.sub("given that ", lead)
    lead = " ".join(_CASUAL.get(w, w) for w in lead.split())  # "if i just ask" → "if you just ask"
    first, _, rest = lead.partition(" ")
    if first[1:].islower() or first.lower() in STOPWORDS or first.lower() in _CONDITION_OPENERS:
        first = first.lower()
    return f"{first} {rest}".strip()


def read(question: str) -> Reading:
    lead, q = _split_lead(question)
    m = re.match(r"^(?:by|in|on|to|at|for|of|from|with) (?:roughly |about |approximately )?(?=(?:what|which|how)\b)",
                 q, re.I)
    wh = q[m.end():] if m else q  # "in what share of …", "by how much …": the form is the wh phrase's
    form = form_of(wh)
    ev = _EVIDENCE_THAT.match(q)
    if ev and len(q[ev.end():].split()) >= 3:  # "is there evidence that some models resist X"
        clause = "whether " + " ".join(_lower_first(q[ev.end():].rstrip("?!. ").split()))
        clause = _first_part(clause)
    else:
        clause = clause_of(wh)
        if clause and m:  # "in what share of transcripts Claude said …" keeps its preposition
            clause = q[:m.end()].lower() + clause
    if clause and lead:
        phrase = _lead_phrase(lead)
        if phrase:
            clause = f"{clause}, {phrase}" if "," not in clause else clause
    return Reading(question, form, clause, lead=lead)


def _first_part(clause: str) -> str:
    """A compound clause's first part: "whether X, and how does it show up" → "whether X" (a part that is not a
    question of its own, "…, and not only to protect Y", stays)."""
    return re.split(r"(?:,|;)\s*(?:and|or|but)?\s*(?=(?:why|how|what|which|who|when|where|does|do|did|is|are|"
                    r"was|were|can|could|would|should|will)\b)", clause, maxsplit=1, flags=re.I)[0].strip(" ,;")


# --------------------------------------------------------------------------------------------- concept
_PAREN = re.compile(r"\(([^()]{4,60})\)")
_NAMED = re.compile(r"\b([A-Z][a-z]+(?:-[A-Za-z]+){1,4}|[A-Z][a-z]+[A-Z][A-Za-z]+)\b")  # Degeneration-of-Thought


def _attribution(name: str, notes: Sequence[dict]) -> bool:
    """The notes write ``name`` as who did the work ("Burns et al. (OpenAI, 2023)", "OpenAI (2023)"): an author
    or a lab, not what a question turns on ("OpenAI (Schoen et al., 2025)", "(Anthropic, 2025)")."""
    n = re.escape(name)
    pat = re.compile(rf"\b{n}(?:,\s*|\s+\()(?:19|20)\d\d\b|\b{n}\s+et al\b|\b{n}\s+\([^()]*et al\b"
                     rf"|\([^()]*\b{n}\b[^()]*\b(?:19|20)\d\d\)")
    return any(pat.search(f"{n.get('summary', '')} {n.get('source', '')}") for n in notes)


def concept_candidates(notes: Sequence[dict]) -> list[tuple[str, int]]:
    """Phrases the best notes use for what they are about, with the rank of the note they come from:
    tags, parenthesised terms in summaries ("(terminal goal guarding)") and hyphenated names."""
    out: list[tuple[str, int]] = []
    seen: set[str] = set()

    def add(p: str, rank: int) -> None:
        p = " ".join(p.split()).strip(" ,.;:")
        key = p.lower()
        if 3 <= len(p) <= 60 and key not in seen and not re.search(r"\d{4}|et al|\bp\.|%", p):
            seen.add(key)
            out.append((p, rank))

    for rank, n in enumerate(notes[:3]):
        for m in _PAREN.finditer(n.get("summary", "")):
            inner = m.group(1)
            if len(inner.split()) <= 5 and not re.search(r"\d", inner):
                add(inner, rank)
        for m in _NAMED.finditer(n.get("summary", "")):
            if not _attribution(m.group(1), notes):
                add(m.group(1), rank)
        for t in n.get("tags") or []:
            add(str(t), rank)
    return out


def choose_concept(question: str, notes: Sequence[dict], embed: Callable[[list[str]], np.ndarray],
                   qvec: np.ndarray | None = None) -> str | None:
    """The phrase, among ``concept_candidates``, that best names what the question turns on: close to the
    question (cosine), sharing its words, and from the best-ranked note."""
    from rag.text import content_words

    cands = concept_candidates(notes)
    if not cands:
        return None
    texts = [c for c, _ in cands]
    vecs = embed(texts + ([] if qvec is not None else [question]))
    q = qvec if qvec is not None else vecs[-1]
    sims = vecs[:len(texts)] @ q
    qwords = content_words(question)

    def shared(t: str) -> float:
        w = content_words(t)
        return len(w & qwords) / len(w) if w else 0.0

    spread: dict[str, int] = {}  # how many of the best notes carry each tag: a theme they share
    for n in notes[:SPREAD_NOTES]:
        for t in {str(t).lower() for t in n.get("tags") or []}:
            spread[t] = spread.get(t, 0) + 1
    scored = [(float(s) + WORD_BONUS * shared(t) - RANK_COST * r + SPREAD_BONUS * max(0, spread.get(t.lower(), 1) - 1), t)
              for (t, r), s in zip(cands, sims)]
    from rag.text import as_written

    return as_written(max(scored)[1], [f"{n.get('title', '')} {n.get('summary', '')}" for n in notes[:SPREAD_NOTES]])


# Weights over the demo notes' tags and defined terms (short phrases, where MiniLM's cosine alone is noisy:
# "self-correction" scored above "goal guarding" for a question about resisting goal changes)
RANK_COST = 0.10  # a phrase from the next note down must be this much closer to the question to win
WORD_BONUS = 0.15  # a phrase all of whose words the question uses gains this much
SPREAD_NOTES = 5  # the best notes whose shared tags count as the answer's theme
SPREAD_BONUS = 0.08  # a tag gains this much for each further one of those notes that carries it
