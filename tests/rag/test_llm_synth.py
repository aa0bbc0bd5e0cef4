"""The LLM synthesizer end to end, against a real local OpenAI-compatible server with scripted replies:
citations map to note ids, invented citations and unsupported sentences are removed and recorded,
bad JSON falls back visibly, timeouts and unreachable servers fail with clear errors, streaming works."""

from __future__ import annotations

import json
import re
import socket

import pytest

from rag import Engine, Settings, render
from rag.errors import ConfigError, LLMUnavailableError
from eval.replay_server import ScriptedLLMServer

pytest.importorskip("llama_index.llms.openai_like")

NOTES = {
    "waggle-dance.md": """---
title: "Honeybees share food locations through the waggle dance"
summary: "Forager honeybees returning to the hive perform a waggle dance that tells nestmates where food is. The angle of the waggle run relative to vertical encodes the direction of the food relative to the sun, and the duration of the run encodes the distance to the food."
tags: [bees, communication, foraging]
---

# Honeybees share food locations through the waggle dance

## Finding
Recruits that follow a waggle dance fly out in the direction the dance encodes and search near the encoded distance. Longer waggle runs signal food sources farther from the hive.

## Evidence
Von Frisch moved feeders to different distances and angles and recorded the dances of returning foragers; the waggle duration rose steadily with feeder distance.
""",
    "pesticides-impair-foraging.md": """---
title: "Neonicotinoid pesticides impair bee navigation"
summary: "Field studies found that honeybees exposed to sublethal doses of neonicotinoid pesticides were less likely to return to their hive after foraging. Exposure disrupted the navigation that foragers rely on to find their way home."
tags: [bees, pesticides, foraging]
---

# Neonicotinoid pesticides impair bee navigation

## Finding
Foragers tagged with radio chips and fed a small dose of thiamethoxam failed to return home far more often than untreated foragers. The losses were large enough to threaten colony growth.
""",
    "caffeine-nectar-memory.md": """---
title: "Caffeine in nectar improves bee memory for flower scent"
summary: "Honeybees rewarded with nectar containing low doses of caffeine were three times more likely to remember a floral scent a day later than bees rewarded with plain sugar water. Plants that put caffeine in their nectar may gain more loyal pollinators."
tags: [bees, memory, plants]
---

# Caffeine in nectar improves bee memory for flower scent

## Finding
Caffeine at the concentrations found in citrus and coffee nectar strengthened the long-term memory of a scent paired with a reward. The effect acted on neurons in the mushroom bodies involved in learning.
""",
    "bumblebee-string-pulling.md": """---
title: "Bumblebees learn string pulling by watching other bees"
summary: "Bumblebees learned to pull a string to reach an artificial flower with a sugar reward after observing trained demonstrator bees. The skill then spread through colonies by social learning across several generations of foragers."
tags: [bees, learning, social-learning]
---

# Bumblebees learn string pulling by watching other bees

## Finding
Few untrained bees solved the string-pulling task on their own, but most bees that watched a demonstrator solved it. Colonies seeded with one trained bee picked up the technique.
""",
    "sourdough-starter.md": """---
title: "Sourdough starters are shaped by the baker's hands"
summary: "The microbial communities of sourdough starters vary with the bakers who maintain them. Bacteria found on bakers' hands also appeared in their starters, and bread flavour differed with the starter's microbes."
tags: [fermentation, microbes, bread]
---

# Sourdough starters are shaped by the baker's hands

## Finding
Starters made from the same flour by different bakers developed different bacterial and yeast communities.
""",
}
QUESTION = "How do bees find and remember where food is?"
WAGGLE, CAFFEINE = "waggle-dance.md", "caffeine-nectar-memory.md"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("llm-synth")
    notes = root / "notes"
    notes.mkdir()
    for name, text in NOTES.items():
        (notes / name).write_text(text)
    idx = root / "index"
    eng = Engine.open(idx, create=True)
    eng.ingest([notes])
    eng.close()
    return idx


@pytest.fixture(scope="module")
def server():
    with ScriptedLLMServer() as srv:
        yield srv


@pytest.fixture
def srv(server):
    server.queue.clear()
    server.requests.clear()
    yield server
    server.queue.clear()


def llm_engine(index_dir, srv_or_url, **llm) -> Engine:
    base = srv_or_url if isinstance(srv_or_url, str) else srv_or_url.url + "/v1"
    cfg = {"provider": "openai", "base_url": base, "model": "scripted", "timeout_s": 10.0} | llm
    # 0.55: the support threshold calibrated on the demo notes (stricter than the 0.45 default)
    return Engine.open(settings=Settings(index=index_dir, synthesis={"synthesizer": "llm", "support_threshold": 0.55},
                                         llm=cfg))


@pytest.fixture
def engine(index_dir, srv):
    eng = llm_engine(index_dir, srv)
    yield eng
    eng.close()


# --------------------------------------------------------------------------- scripted replies
_ITEM = re.compile(r"^\[(\d+)\] (.+?) — (.+)$", re.M)


def evidence(body: dict) -> dict[str, list[tuple[int, str]]]:
    """The numbered evidence of a chat request, by note title: {title: [(n, sentence), ...]}."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    out: dict[str, list[tuple[int, str]]] = {}
    for n, title, text in _ITEM.findall(user):
        out.setdefault(title, []).append((int(n), text))
    return out


def first_of(ev: dict, word: str) -> tuple[int, str]:
    return next(items[0] for title, items in ev.items() if word in title.lower())


def caffeine_n(body: dict) -> int:
    return first_of(evidence(body), "caffeine")[0]


PARA_W = ("Bees pass on where food lies by dancing: the direction of the waggle run gives its direction, and a "
          "longer run means the food is farther away.")
PARA_C = "Caffeine in nectar makes bees much more likely to remember a flower's scent the next day."


def answer_json(body: dict, extra: list[dict] | None = None, bad_cite: int | None = None,
                paraphrase: bool = False) -> str:
    ev = evidence(body)
    wn, wtext = first_of(ev, "waggle")
    cn, ctext = first_of(ev, "caffeine")
    cites_w = [wn] + ([bad_cite] if bad_cite else [])
    paragraphs = [
        {"sentences": [
            {"text": "Taken together, the notes point to communication and memory as the two sides of this question.",
             "cites": []},
            {"text": wtext, "cites": cites_w},
        ]},
        {"sentences": [{"text": ctext, "cites": [cn]}] + (extra or [])},
    ]
    if paraphrase:  # written in the LLM's own words, not quoted
        paragraphs[0]["sentences"].append({"text": PARA_W, "cites": [wn]})
        paragraphs[1]["sentences"].insert(0, {"text": PARA_C, "cites": [cn]})
    return json.dumps({
        "framing": "This explores how bees find food and how they keep it in mind.",
        "paragraphs": paragraphs,
        "takeaway": f"The thing worth taking away: caffeine in nectar makes bees remember a floral scent [{cn}].",
    })


# --------------------------------------------------------------------------- cases
def test_good_reply_cites_note_ids_and_sources_follow(engine, srv):
    srv.reply(lambda body: "Here is the answer:\n```json\n" + answer_json(body, paraphrase=True) + "\n```")
    line = engine.ask(QUESTION)
    assert line.meta["synthesizer"] == "llm (openai: scripted)"
    cited = [s for p in line.paragraphs for s in p.sentences if s.cites]
    assert [s.cites for s in cited] == [[WAGGLE], [WAGGLE], [CAFFEINE], [CAFFEINE]]
    assert PARA_W in [s.text for s in cited] and PARA_C in [s.text for s in cited]
    assert all(s.quote for s in cited)  # the passage of the cited evidence, for the page
    assert all(s.support is not None and s.support >= engine.settings.synthesis.support_threshold for s in cited)
    assert [s.id for s in line.sources] == [WAGGLE, CAFFEINE]
    assert line.framing.startswith("This explores")
    assert line.takeaway_cites == [CAFFEINE]
    assert "[" not in line.takeaway and not line.takeaway.startswith("The thing worth")
    assert "dropped_sentences" not in line.meta
    # the uncited connective stays; the prompt went out numbered, with the model and no retries
    assert line.paragraphs[0].sentences[0].cites == [] and line.paragraphs[0].sentences[0].text.startswith("Taken")
    assert len(srv.requests) == 1 and srv.requests[0]["model"] == "scripted"
    assert "[1] " in srv.requests[0]["messages"][-1]["content"]
    text = render(line, "text")
    assert "Honeybees share food locations through the waggle dance" in text


def test_invented_citation_is_removed_and_recorded(engine, srv):
    srv.reply(lambda body: answer_json(body, bad_cite=99))
    line = engine.ask(QUESTION)
    assert line.meta["synthesizer"].startswith("llm")
    cites = [c for p in line.paragraphs for s in p.sentences for c in s.cites]
    assert WAGGLE in cites and all(c in {WAGGLE, CAFFEINE} for c in cites)
    dropped = line.meta["dropped_sentences"]
    invented = [d for d in dropped if d["reason"].startswith("invented citation")]
    assert len(invented) == 1 and invented[0]["cites"] == ["99"]


def test_unsupported_sentence_is_dropped(engine, srv):
    moon = "The moon is made of green cheese and bees mine it for sugar."
    srv.reply(lambda body: answer_json(body, extra=[{"text": moon, "cites": [caffeine_n(body)]}]))
    line = engine.ask(QUESTION)
    texts = [s.text for p in line.paragraphs for s in p.sentences]
    assert moon not in texts
    d = [d for d in line.meta["dropped_sentences"] if d["text"] == moon]
    assert d and d[0]["reason"] == "unsupported" and d[0]["score"] < engine.settings.synthesis.support_threshold
    assert d[0]["cites"] == [CAFFEINE]
    assert [s.id for s in line.sources] == [WAGGLE, CAFFEINE]  # the supported sentences stay


def test_invented_number_is_dropped(engine, srv):
    figure = "Caffeine in nectar makes bees remember a floral scent ten times better than sugar water."
    srv.reply(lambda body: answer_json(body, extra=[{"text": figure, "cites": [caffeine_n(body)]}]))
    line = engine.ask(QUESTION)
    assert figure not in [s.text for p in line.paragraphs for s in p.sentences]
    assert any(d["text"] == figure and "10" in d["reason"] for d in line.meta["dropped_sentences"])


def test_uncited_claim_is_dropped(engine, srv):
    claim = "Bees navigate mainly by magnetic fields detected in their antennae."
    srv.reply(lambda body: answer_json(body, extra=[{"text": claim, "cites": []}]))
    line = engine.ask(QUESTION)
    assert claim not in [s.text for p in line.paragraphs for s in p.sentences]
    assert any(d["text"] == claim and d["reason"] == "uncited finding" for d in line.meta["dropped_sentences"])


def test_bad_json_once_is_repaired(engine, srv):
    srv.reply('{"framing": "This explores bees", "paragraphs": [ {"sentences": [')
    srv.reply(lambda body: answer_json(body))
    line = engine.ask(QUESTION)
    assert line.meta["synthesizer"] == "llm (openai: scripted)"
    assert len(srv.requests) == 2
    repair = srv.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant" and "could not be used" in repair[-1]["content"]
    assert any(d["reason"] == "llm reply repaired" for d in line.meta["dropped_sentences"])


def test_bad_json_twice_falls_back_visibly(engine, srv):
    srv.reply("Sure! Bees are great at finding food.")
    srv.reply("I cannot produce JSON, sorry.")
    line = engine.ask(QUESTION)
    assert line.meta["synthesizer"] == "extractive (llm output rejected: invalid JSON)"
    reasons = [d["reason"] for d in line.meta["dropped_sentences"]]
    assert "llm returned invalid JSON" in reasons
    assert not line.abstained and line.sources  # still a grounded answer, from the extractive synthesizer
    assert len(srv.requests) == 2


def test_nothing_supported_falls_back_visibly(engine, srv):
    srv.reply(json.dumps({"framing": "This explores bees.", "paragraphs": [{"sentences": [
        {"text": "Volcanoes on Mars erupt every spring because of tidal heating.", "cites": [1]}]}],
        "takeaway": "Nothing."}))
    line = engine.ask(QUESTION)
    assert line.meta["synthesizer"] == "extractive (llm output rejected: no supported sentences)"
    # dropped by the checks (here the universal "every spring", which no evidence states, before the score)
    assert any(d.get("text", "").startswith("Volcanoes on Mars") and d.get("score") is not None
               for d in line.meta["dropped_sentences"])


def test_timeout_raises_llm_unavailable(index_dir, srv):
    eng = llm_engine(index_dir, srv, timeout_s=0.5)
    try:
        srv.reply("{}", delay=2.0)
        with pytest.raises(LLMUnavailableError, match=r"did not answer within 0.5 s"):
            eng.ask(QUESTION)
    finally:
        eng.close()


def test_unreachable_server_fails_at_open_naming_the_url(index_dir):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(LLMUnavailableError) as e:
        llm_engine(index_dir, url)
    assert f"{url}/models" in str(e.value) and "extractive" in str(e.value)


def test_missing_settings_are_config_errors(index_dir, srv):
    with pytest.raises(ConfigError, match="llm.base_url"):
        llm_engine(index_dir, "")
    with pytest.raises(ConfigError, match="llm.model"):
        llm_engine(index_dir, srv, model="")


def test_ollama_reachability_and_missing_model(index_dir, srv):
    pytest.importorskip("llama_index.llms.ollama")
    eng = llm_engine(index_dir, srv.url, provider="ollama", model="scripted")  # /api/tags lists scripted:latest
    assert eng.synthesizer.model_label == "llm (ollama: scripted)"
    eng.close()
    with pytest.raises(LLMUnavailableError, match="ollama pull nope"):
        llm_engine(index_dir, srv.url, provider="ollama", model="nope")


def test_prose_stream_passes_plain_text_and_skips_fences():
    from rag.synthesize.llm_stream import ProseStream

    p = ProseStream()
    assert p.feed("Sorry, ") + p.feed("no JSON.") == "Sorry, no JSON."
    p = ProseStream()
    raw = '```json\n{"framing": "This explores \\"x\\".", "paragraphs": [{"sentences": [{"text": "A.", "cites": [1]}]}]}```'
    assert "".join(p.feed(c) for c in raw) == 'This explores "x".\n\nA.'


def test_streaming_yields_chunks_and_synthesize_reuses_them(engine, srv):
    synth = engine.synthesizer
    ctx = _context(engine)
    srv.reply(lambda body: answer_json(body, paraphrase=True), chunk_size=7)
    chunks = list(synth.stream(ctx))
    assert len(chunks) > 5 and all(isinstance(c, str) and c for c in chunks)
    shown = "".join(chunks)  # readable text as it is written: no JSON, no citation numbers
    assert shown.startswith("This explores how bees find food") and "{" not in shown and '"cites"' not in shown
    assert PARA_W in shown and "\n\nThe thing worth taking away: caffeine" in shown
    assert srv.requests[-1]["stream"] is True
    draft = synth.synthesize(ctx)  # the finished stream is reused: no second request
    assert len(srv.requests) == 1
    assert draft.model == "llm (openai: scripted)"
    assert {c for p in draft.paragraphs for s in p.sentences for c in s.cites} == {WAGGLE, CAFFEINE}


def test_stream_failure_is_llm_unavailable(index_dir, srv):
    eng = llm_engine(index_dir, srv, timeout_s=0.5)
    try:
        srv.reply("{}", delay=2.0)
        with pytest.raises(LLMUnavailableError, match="did not answer"):
            list(eng.synthesizer.stream(_context(eng)))
    finally:
        eng.close()


def _context(engine, question: str = QUESTION):
    """The Context the engine hands its synthesizer."""
    ctx = engine.prepare(question).ctx
    assert ctx is not None, "the tiny index should answer the test question"
    return ctx


# --------------------------------------------------------------------------- parsing and prompts
def test_extract_json_is_robust():
    from rag.synthesize.llm_reply import InvalidReply, extract_json, parse_reply

    assert extract_json('```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('Sure, here it is: {"a": [1, 2,], } and some words') == {"a": [1, 2]}
    with pytest.raises(InvalidReply):
        extract_json("no json here")
    with pytest.raises(InvalidReply):
        extract_json('{"a": ')
    framing, paras, takeaway, tk = parse_reply({
        "framing": "This explores x.",
        "paragraphs": [{"sentences": [{"text": "A finding [2, 3].", "cites": ["1"]}, "Plain string sentence [4]."]},
                       "One. Two [1]."],
        "takeaway": "The thing worth taking away: y [2]."})
    assert paras[0] == [("A finding.", [1, 2, 3]), ("Plain string sentence.", [4])]
    assert paras[1] == [("One.", []), ("Two.", [1])]
    assert tk == [2] and takeaway == "The thing worth taking away: y."
    with pytest.raises(InvalidReply, match="paragraphs"):
        parse_reply({"framing": "x"})


def test_prompts_are_checked_at_import():
    from rag import prompts

    prompts.check()
    assert prompts.fields_of("[{n}] {title} — {text} {{literal}}") == {"n", "title", "text"}
    with pytest.raises(prompts.PromptError, match="undeclared"):
        prompts.check({"bad": ("{question} {oops}", frozenset({"question"}))})
    with pytest.raises(prompts.PromptError, match="not used"):
        prompts.check({"bad": ("{question}", frozenset({"question", "evidence"}))})
    with pytest.raises(prompts.PromptError):
        prompts.render("answer", question="q")
    text = prompts.render("evidence_item", n=1, title="T", text="S")
    assert text == "[1] T — S"
    ans = prompts.render("answer", question="Q?", evidence="[1] T — S", numbers="1",
                        framing_lead=prompts.FRAMING_LEAD, takeaway_lead=prompts.TAKEAWAY_LEAD)
    assert '{"framing": "This explores <' in ans and "Q?" in ans


def test_engine_stream_yields_text_then_the_finished_line(engine, srv):
    from rag import InquiringLine

    srv.reply(lambda body: answer_json(body, paraphrase=True), chunk_size=7)
    items = list(engine.stream(QUESTION))
    assert isinstance(items[-1], InquiringLine) and not items[-1].abstained
    assert len(items) > 2 and all(isinstance(x, str) for x in items[:-1])
    assert len(srv.requests) == 1  # the streamed reply is the one that was verified
    assert items[-1].meta["synthesizer"] == "llm (openai: scripted)"


def test_the_llm_is_given_the_rest_of_a_quoted_note_within_a_token_budget():
    """The prompt's evidence: the selected sentences' passages first, then the pool's other passages of the notes
    they quote (the note's caveats and method), then a few strong passages of other notes, all within
    EVIDENCE_TOKENS; a passage that does not fit is left out, a shorter one after it still goes in."""
    from rag.evidence import Candidate
    from rag.synthesize import Context
    from rag.synthesize.llm import CHARS_PER_TOKEN, EVIDENCE_TOKENS, MAX_EXTRA, LLMSynthesizer

    def cand(note, chunk, text, passage, rel, pos, **kw):
        return Candidate(text, note, chunk, passage, False, 0, position=pos, relevance=rel, **kw)

    a1 = cand("a.md", "a::1", "Finding one.", "Finding one. Its context.", 0.9, 1100)
    a2 = cand("a.md", "a::2", "A caveat.", "A caveat: the setup was small.", 0.2, 1200)  # not selected
    b1 = cand("b.md", "b::1", "Finding two.", "Finding two. More context.", 0.8, 1100)
    others = [cand(f"c{i}.md", f"c{i}::1", f"Other {i}.", f"Other passage {i}.", 0.95, 1100) for i in range(5)]
    notes = [{"id": n, "title": n.upper()} for n in ["a.md", "b.md"] + [f"c{i}.md" for i in range(5)]]
    ctx = Context(question="q?", notes=notes, evidence=[a1, b1], pool=[a1, a2, b1, *others])
    syn = LLMSynthesizer.__new__(LLMSynthesizer)  # number_evidence needs neither a client nor settings
    items = syn.number_evidence(ctx)
    got = [(it.note_id, it.passage) for it in items]
    assert ("a.md", a2.passage) in got  # the rest of a quoted note, though its sentence was not selected
    assert [n for n, _ in got][:2] == ["a.md", "a.md"]  # in note order: a's passages together, in position order
    assert sum(n.startswith("c") for n, _ in got) == MAX_EXTRA  # other notes: the strongest few
    assert [it.n for it in items] == list(range(1, len(items) + 1))

    big = cand("a.md", "a::3", "Long.", "x " * (EVIDENCE_TOKENS * CHARS_PER_TOKEN), 0.1, 1300)  # over the budget
    ctx = Context(question="q?", notes=notes, evidence=[a1, b1], pool=[a1, big, a2, b1])
    got = [it.passage for it in syn.number_evidence(ctx)]
    assert big.passage.strip() not in got and a2.passage in got
    assert sum(len(p) for p in got) <= EVIDENCE_TOKENS * CHARS_PER_TOKEN
