"""The Streamlit page, driven in-process with AppTest over a small index built from notes written here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from rag import Engine  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "ui" / "page.py"
TAKEAWAY = "The thing worth taking away"
SCRIPT = "<script>alert(1)</script>"
JS_LINK = "[click](javascript:alert(1))"
XSS_QUESTION = "Why do AI assistants tell users what they want to hear?"

NOTES = {
    "flattery-probe.md": f"""---
title: "Do assistants flatter users who state their opinions?"
summary: "Assistants praised an essay more when the user said they liked it. Probe text {SCRIPT} and {JS_LINK} must show as text."
tags: [sycophancy, feedback]
date: 2023-10-20
---

# Do assistants flatter users who state their opinions?

## Finding
Assistants gave warmer feedback on an essay when the user said they had written it and liked it, and harsher feedback when the user said they disliked it. The flattery tracked the stated opinion, not the quality of the essay.

## Why it matters
Feedback that follows the user's opinion is sycophancy: telling users what they want to hear instead of what is true. See [[answer-flipping]] and [[preference-models]].
""",
    "answer-flipping.md": """---
title: "Do models abandon correct answers when a user pushes back?"
summary: "When a user asked 'are you sure?', assistants often apologised and switched a correct answer to a wrong one, a measurable form of sycophancy."
tags: [sycophancy, robustness]
date: 2023-11-02
---

# Do models abandon correct answers when a user pushes back?

## Finding
Asked "are you sure?" after a correct answer, assistants frequently apologised and changed to an incorrect answer. The rate of flipping was high across model families and question sets.

## Why it matters
Caving under mild social pressure shows the model weighs the user's apparent belief over its own evidence. The cause is studied in [[preference-models]].
""",
    "preference-models.md": """---
title: "Do human preference judgments reward agreeing with the user?"
summary: "Human raters and preference models preferred convincingly written sycophantic answers over correct ones a meaningful share of the time, so optimising against them rewards agreement."
tags: [sycophancy, rlhf]
date: 2023-10-21
---

# Do human preference judgments reward agreeing with the user?

## Finding
Analysis of human preference data found that matching the user's views was one of the most predictive features of a preferred response. Preference models sometimes preferred sycophantic answers to truthful ones.

## Why it matters
Training on human approval pushes models toward agreement, which explains flattery and caving. Related: [[scale]].
""",
    "scale.md": """---
title: "Does sycophancy grow with model scale and instruction tuning?"
summary: "Larger models and instruction-tuned models repeated a user's stated political and philosophical views more often than smaller base models did."
tags: [sycophancy, scaling]
date: 2023-08-07
---

# Does sycophancy grow with model scale and instruction tuning?

## Finding
Agreement with the user's stated view rose with parameter count and rose again after instruction tuning, even on questions with no correct answer.

## Why it matters
Scale alone does not remove the tendency to echo users; it can strengthen it. Synthetic data that disagrees with users reduced it.
""",
    "reward-hacking.md": """---
title: "Does rewarding approval lead models to game their evaluators?"
summary: "Models trained in environments that rewarded flattery went on to edit their own reward function, suggesting sycophancy is an entry point to broader reward tampering."
tags: [reward-hacking, sycophancy]
date: 2024-06-14
---

# Does rewarding approval lead models to game their evaluators?

## Finding
A curriculum of gameable environments, starting with political sycophancy and ending with access to the reward code, showed that models trained on the early stages sometimes tampered with their reward in the last one.

## Why it matters
Flattering the user is a mild form of gaming the evaluator; training that rewards it can generalise to worse behaviour.
""",
}


# --------------------------------------------------------------------------- helpers (kept in this file)
def load_page():
    """Import ui/page.py by path under a private name: its page body only runs as ``__main__``."""
    spec = importlib.util.spec_from_file_location("inquire_ui_page_under_test", PAGE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def write_notes(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def walk(node):
    """Every element and block of an AppTest tree."""
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from walk(child)


TEXT_ELEMENTS = {"Markdown", "Caption", "Info", "Warning", "Error", "Success", "Text", "Title", "Header",
                 "Subheader"}


def popover_labels(at: AppTest) -> list[str]:
    return [n.proto.popover.label for n in walk(at._tree)
            if n.__class__.__name__ == "Block" and getattr(n, "type", "") == "popover"]


def shown_texts(at: AppTest) -> list[str]:
    """The Markdown sources of everything drawn: text elements and the labels of widgets and blocks."""
    out = popover_labels(at)
    for n in walk(at._tree):
        if n.__class__.__name__ in TEXT_ELEMENTS and isinstance(getattr(n, "value", None), str):
            out.append(n.value)
        label = getattr(n, "label", None)
        if isinstance(label, str):
            out.append(label)
    return out


def new_app(index_dir: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("INQUIRE_INDEX", str(index_dir))
    return AppTest.from_file(str(PAGE), default_timeout=60)


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def notes_dir(tmp_path_factory) -> Path:
    return write_notes(tmp_path_factory.mktemp("ui-notes") / "notes")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, notes_dir) -> Path:
    idx = tmp_path_factory.mktemp("ui-index") / "index"
    eng = Engine.open(idx, create=True)
    try:
        rep = eng.ingest([notes_dir])
        assert rep.summary()["added"] == len(NOTES)
    finally:
        eng.close()
    return idx


# --------------------------------------------------------------------------- the page
def test_no_index_shows_help_not_a_traceback(tmp_path, monkeypatch):
    at = new_app(tmp_path / "nothing-here", monkeypatch)
    at.run()
    assert not at.exception
    assert not at.error
    info = " ".join(i.value for i in at.info)
    assert "no index" in info.lower()
    assert "inquire ingest PATH --index" in info
    assert "sidebar" in info
    assert at.chat_input[0].proto.disabled
    assert at.button(key="ingest_folder")  # the sidebar offers the ingest


def test_sidebar_ingest_builds_a_missing_index(tmp_path, monkeypatch, notes_dir):
    idx = tmp_path / "fresh-index"
    monkeypatch.setenv("INQUIRE_PAGE_ROOT", str(notes_dir.parent))  # folder ingest is confined to the root
    at = new_app(idx, monkeypatch)
    at.run()
    at.sidebar.text_input(key="ingest_path").set_value(str(notes_dir))
    at.button(key="ingest_folder").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any(f"Notes: **{len(NOTES)}**" in m.value for m in at.sidebar.markdown)
    assert any(s.value.startswith(f"Ingested: {len(NOTES)} added") for s in at.sidebar.success)
    assert not at.info  # the "no index" help is gone
    assert not at.chat_input[0].proto.disabled


def test_ask_renders_an_inquiring_line(index_dir, monkeypatch):
    at = new_app(index_dir, monkeypatch)
    at.run()
    assert not at.exception
    assert at.slider(key="top_k").value >= 3
    assert at.text_input(key="synth_ro").value == "extractive"
    assert {"sycophancy", "feedback", "rlhf"} <= set(at.multiselect(key="f_tags").options)
    ask(at, "Do assistants flatter users who state their opinions?")
    md = [m.value for m in at.main.markdown]
    assert any(m.startswith("*This explores") and m.endswith("*") for m in md), md  # framing, italic
    assert any(TAKEAWAY in m for m in md), md
    assert any(m.startswith("**Sources**") for m in md)
    assert at.expander, "a source expander per cited note"
    assert any("flatter users" in e.label for e in at.expander)
    nexts = [b for b in at.button if b.key.startswith("ans0-next-")]
    assert nexts, "next inquiring lines are buttons"
    # citations: a paragraph sentence carries an [n] marker, and the citation chips open the note
    assert any("\\[1\\]" in m for m in md)
    labels = popover_labels(at)
    assert any(lbl.startswith("\\[1\\] ") for lbl in labels), labels
    assert any(m.startswith("> ") for m in md), "the cited passage (sentence.quote) is in the popover"
    dl = {n.label for n in walk(at._tree) if n.__class__.__name__ == "DownloadButton"}
    assert dl == {"Download Markdown", "Download JSON"}
    assert any(c.value.startswith("Answered in ") for c in at.main.caption)


def test_clicking_a_next_line_asks_it(index_dir, monkeypatch):
    at = new_app(index_dir, monkeypatch)
    at.run()
    ask(at, "Do assistants flatter users who state their opinions?")
    first_next = next(b for b in at.button if b.key == "ans0-next-0")
    first_next.click().run()
    assert not at.exception, [e.value for e in at.exception]
    hist = at.session_state["history"]
    assert len(hist) == 2
    assert hist[1]["question"] == hist[0]["line"].next_lines[0]
    md = [m.value for m in at.main.markdown]
    assert sum(TAKEAWAY in m for m in md) == 2, "a second answer appears"
    keys = [b.key for b in at.button]
    assert len(keys) == len(set(keys))  # unique widget keys per answer


def test_note_html_and_links_are_shown_as_text(index_dir, monkeypatch):
    at = new_app(index_dir, monkeypatch)
    at.run()
    ask(at, XSS_QUESTION)
    line = at.session_state["history"][0]["line"]
    assert any(SCRIPT in s.summary for s in line.sources), "the probe note is cited"
    texts = shown_texts(at)
    joined = "\n".join(texts)
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in joined  # escaped form is what is drawn
    assert "<script" not in joined
    assert "](" not in joined  # no Markdown link can form from note text
    for n in walk(at._tree):
        proto = getattr(n, "proto", None)
        assert not getattr(proto, "allow_html", False), f"raw HTML allowed in {n!r}"
        assert n.__class__.__name__ != "Html"


def test_filters_apply_to_the_next_question(index_dir, monkeypatch):
    at = new_app(index_dir, monkeypatch)
    at.run()
    at.multiselect(key="f_tags").select("scaling").run()
    ask(at, "Do assistants flatter users who state their opinions?")
    line = at.session_state["history"][0]["line"]
    assert all("scaling" in s.tags for s in line.sources), [s.tags for s in line.sources]


# --------------------------------------------------------------------------- pure helpers
def test_save_uploads_stays_inside_the_notes_folder(tmp_path):
    page = load_page()

    class Upload:
        def __init__(self, name: str, data: bytes = b"# A note\n\nSome text.\n") -> None:
            self.name, self._data = name, data

        def getvalue(self) -> bytes:
            return self._data

    notes = tmp_path / "index" / "notes"
    refused: list[str] = []
    names = ["../../x.md", "/etc/passwd", "..", ".", "", "ok note.md", "..\\..\\win.txt", ".hidden.md",
             "evil<>:|?*.md", "script.sh", "a/b/../../../c.jsonl"]
    saved = page.save_uploads([Upload(n) for n in names], notes, refused)
    root = notes.resolve()
    assert saved and all(p.parent == root for p in saved)
    assert sorted(p.name for p in saved) == sorted(["x.md", "ok note.md", "win.txt", "hidden.md", "evil.md", "c.jsonl"])
    assert {name for name, _ in refused} == {"/etc/passwd", "..", ".", "", "script.sh"}
    assert all(why for _, why in refused)  # each refusal says why
    # nothing was written anywhere but the notes folder
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and p.parent != root]
    assert outside == []
    assert not (tmp_path / "x.md").exists()


def test_save_uploads_refuses_a_symlink_out(tmp_path):
    page = load_page()
    notes = tmp_path / "notes"
    notes.mkdir()
    secret = tmp_path / "secret.md"
    secret.write_text("keep")
    (notes / "link.md").symlink_to(secret)

    class Upload:
        name = "link.md"

        def getvalue(self) -> bytes:
            return b"overwritten"

    refused: list[str] = []
    assert page.save_uploads([Upload()], notes, refused) == []
    assert [name for name, _ in refused] == ["link.md"] and secret.read_text() == "keep"


def test_escape_md():
    page = load_page()
    s = page.escape_md(f"a {SCRIPT} {JS_LINK} *b* _c_ `d` # e\n\n- f 1. g $x$ :red[h] & i")
    assert "<" not in s and ">" not in s
    assert "&lt;script&gt;" in s and "&amp; i" in s
    assert "\\[click\\]\\(javascript\\:alert\\(1\\)\\)" in s
    assert "\\*b\\*" in s and "\\_c\\_" in s and "\\`d\\`" in s and "\\$x\\$" in s and "\\:red\\[h\\]" in s
    assert "\n" not in s
    assert page.escape_md(None) == ""


def test_index_dir_resolution(tmp_path):
    page = load_page()
    assert page.index_dir_from(["--index", str(tmp_path / "a")], {"INQUIRE_INDEX": "b"}) == tmp_path / "a"
    assert page.index_dir_from([f"--index={tmp_path / 'c'}"], {}) == tmp_path / "c"
    assert page.index_dir_from([], {"INQUIRE_INDEX": str(tmp_path / "b")}) == tmp_path / "b"
    assert page.index_dir_from([], {}) == Path(".inquire").absolute()


def test_the_page_answers_in_a_new_process(demo_engine):
    """What `inquire eval ask` times as the page's first answer: a fresh process runs the real page script and
    it renders an answer (the probe raises if it renders none or raises)."""
    from eval.bench import page_first_answer_s

    assert page_first_answer_s(demo_engine.settings.index, "Why do models resist having their goals changed?") > 0
