"""The page in a real headless Chromium: `streamlit run ui/page.py` over the demo notes, driven with Playwright.

Needs /usr/bin/chromium (Debian: `apt-get install chromium`) and the `playwright` Python package.
Screenshots go to test-artifacts/browser/; timings are printed (no timed assertions).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (install it with `apt-get install -y chromium`)", allow_module_level=True)
try:
    from playwright.sync_api import expect, sync_playwright
except Exception as e:  # noqa: BLE001
    pytest.skip(f"playwright cannot be imported ({e}); `pip install playwright`", allow_module_level=True)

from rag import Engine  # noqa: E402
from tests.conftest import free_port, wait_healthy  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEMO_NOTES = REPO / "examples" / "notes"
ARTIFACTS = REPO / "test-artifacts" / "browser"
TAKEAWAY = "The thing worth taking away"
FIRST_QUESTION = "Why do models resist having their goals changed?"
PROBE_QUESTION = "Do assistants praise an essay more when the user says they wrote it?"
SCRIPT = "<script>alert(1)</script>"
PROBE_NOTE = f"""---
title: "{PROBE_QUESTION}"
summary: "Assistants rated the same essay higher when the user claimed authorship. Probe text {SCRIPT} and [click](javascript:alert(1)) must stay plain text."
tags: [sycophancy, feedback]
date: 2024-01-15
---

# {PROBE_QUESTION}

## Finding
Assistants rated the same essay higher when the user said they wrote it and liked it, and lower when the user said someone else wrote it. The praise followed the claimed authorship, not the quality of the essay.

## Why it matters
Praise that tracks the user's stake in the work is sycophancy about feedback.
"""
TIMED_QUESTIONS = [
    "Do language models flatter users?",
    "Can models correct their own reasoning without external feedback?",
    "Does debate between models help a weak judge find the truth?",
    "What happens when models are trained on their own generated data?",
    "Do models hack their reward when they can?",
]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WAIT_MS = 120_000


# --------------------------------------------------------------------------- helpers (kept in this file)
def collapse(text: str) -> str:
    return " ".join(text.split())


def popover_key_with_quote(line) -> tuple[str, str] | None:
    """The widget key of the first citation chip whose popover shows a passage, and that passage,
    following ui/page.py's layout (chips per paragraph, one per cited note in order of citation)."""
    for pi, para in enumerate(line.paragraphs):
        order: list[str] = []
        for s in para.sentences:
            for c in s.cites:
                if c not in order:
                    order.append(c)
        for s in para.sentences:
            if s.cites and s.quote:
                return f"ans0-p{pi}-c{order.index(s.cites[0])}", collapse(s.quote)
    return None


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def report(capsys, *lines: str) -> None:
    with capsys.disabled():
        print()
        for ln in lines:
            print(f"[browser] {ln}")


def answer(page, i: int):
    return page.locator(f".st-key-answer-{i}")


def submit(page, question: str) -> float:
    box = page.get_by_test_id("stChatInputTextArea")
    expect(box).to_be_enabled(timeout=WAIT_MS)
    box.fill(question)
    t0 = time.perf_counter()
    box.press("Enter")
    return t0


def wait_answer(page, i: int, t0: float) -> tuple[float, float]:
    """Seconds from submit to the first rendered answer text, and to the complete answer."""
    first = answer(page, i).get_by_test_id("stMarkdownContainer").first
    first.wait_for(state="visible", timeout=WAIT_MS)
    t_first = time.perf_counter() - t0
    # the timing caption (anchored: a quoted sentence may say "answered in" too)
    expect(answer(page, i).get_by_text(re.compile(r"^Answered in \d"))).to_be_visible(timeout=WAIT_MS)
    t_done = time.perf_counter() - t0
    return t_first, t_done


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    dialogs: list[str] = []

    def on_dialog(d) -> None:
        dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.goto(url)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_enabled(timeout=WAIT_MS)
    return page, dialogs


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo notes plus a probe note with a <script> tag, indexed in-process; expected answers."""
    base = tmp_path_factory.mktemp("browser")
    notes = base / "notes"
    notes.mkdir()
    for p in sorted(DEMO_NOTES.glob("*")):
        if p.is_file():
            shutil.copy2(p, notes / p.name)
    (notes / "zz-escaping-probe.md").write_text(PROBE_NOTE, encoding="utf-8")
    index = base / "index"
    eng = Engine.open(index, create=True)
    try:
        summary = eng.ingest([notes]).summary()
        first = eng.ask(FIRST_QUESTION)
        probe = eng.ask(PROBE_QUESTION)
    finally:
        eng.close()
    return {"index": index, "notes": summary["added"], "first": first, "probe": probe, "base": base}


@pytest.fixture(scope="module")
def server(demo):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = demo["base"] / "streamlit.log"
    env = {**os.environ, "INQUIRE_INDEX": str(demo["index"])}
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "ui" / "page.py"), "--server.address", "127.0.0.1",
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--", "--index", str(demo["index"])]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def browser(server):
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


# --------------------------------------------------------------------------- tests
def test_ask_open_a_citation_and_follow_a_next_line(browser, server, demo, capsys):
    page, dialogs = open_page(browser, server)
    try:
        t0 = submit(page, FIRST_QUESTION)
        t_first, t_done = wait_answer(page, 0, t0)
        expect(answer(page, 0).get_by_text(TAKEAWAY)).to_be_visible()
        expect(answer(page, 0).get_by_text("Sources", exact=True)).to_be_visible()
        shots = [shot(page, "01-answer.png")]

        # a citation opens the cited note in place, with the passage the sentence came from
        found = popover_key_with_quote(demo["first"])
        assert found, "the extractive answer cites passages"
        key, quote = found
        page.locator(f".st-key-{key} button").first.click()
        body = page.get_by_test_id("stPopoverBody")
        expect(body).to_be_visible(timeout=WAIT_MS)
        expect(body).to_contain_text(quote[:60])
        shots.append(shot(page, "02-citation-popover.png"))
        page.keyboard.press("Escape")
        expect(body).to_be_hidden(timeout=WAIT_MS)

        # a next inquiring line is a button that asks it
        assert demo["first"].next_lines, "the demo answer proposes next lines"
        nxt = page.locator(".st-key-ans0-next-0 button")
        expect(nxt).to_be_visible()
        t1 = time.perf_counter()
        nxt.click()
        n_first, n_done = wait_answer(page, 1, t1)
        expect(answer(page, 1).get_by_text(TAKEAWAY)).to_be_visible()
        shots.append(shot(page, "03-next-line.png"))
        assert not dialogs
        report(capsys,
               f"first question of a session: first answer text {t_first:.2f} s, "
               f"complete {t_done:.2f} s",
               f"next-line click: first answer text {n_first:.2f} s, complete {n_done:.2f} s",
               *[f"screenshot: {p}" for p in shots])
    finally:
        page.close()


def test_note_html_is_shown_as_text(browser, server, demo, capsys):
    probe = demo["probe"]
    ids = [s.id for s in probe.sources]
    assert "zz-escaping-probe.md" in ids, f"the probe question should surface the probe note; cited {ids}"
    page, dialogs = open_page(browser, server)
    try:
        t0 = submit(page, PROBE_QUESTION)
        wait_answer(page, 0, t0)
        src = page.locator(f".st-key-ans0-src-{ids.index('zz-escaping-probe.md')}")
        src.locator("summary").first.click()
        literal = src.get_by_text(SCRIPT, exact=False)
        expect(literal).to_be_visible(timeout=WAIT_MS)
        expect(src).to_contain_text("[click](javascript:alert(1))")
        page.wait_for_timeout(1000)  # give any injected script a moment to fire
        assert dialogs == [], f"an alert dialog fired: {dialogs}"
        assert page.locator('a[href^="javascript"]').count() == 0
        assert page.evaluate("() => [...document.scripts].filter(s => s.textContent.includes('alert(1)')).length") == 0
        path = shot(page, "04-script-note-as-text.png")
        report(capsys, f"screenshot: {path}")
    finally:
        page.close()


def test_timings(browser, server, capsys):
    page, dialogs = open_page(browser, server)
    firsts, dones = [], []
    try:
        for i, q in enumerate(TIMED_QUESTIONS):
            t0 = submit(page, q)
            t_first, t_done = wait_answer(page, i, t0)
            expect(answer(page, i).get_by_text(TAKEAWAY)).to_be_visible()
            firsts.append(t_first)
            dones.append(t_done)
        path = shot(page, "05-five-questions.png")
        assert not dialogs
    finally:
        page.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    result = {"questions": TIMED_QUESTIONS, "first_answer_text_s": firsts, "complete_answer_s": dones,
              "median_first_s": statistics.median(firsts), "median_complete_s": statistics.median(dones)}
    (ARTIFACTS / "timings.json").write_text(json.dumps(result, indent=2))
    report(capsys,
           f"{len(firsts)} questions (warm server): median submit→first answer text "
           f"{result['median_first_s']:.2f} s, median submit→complete answer {result['median_complete_s']:.2f} s",
           "per question (first / complete): " + ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(firsts, dones)),
           f"screenshot: {path}", f"timings: {ARTIFACTS / 'timings.json'}")


def test_upload_saves_inside_the_index_and_warns_on_unreadable_files(browser, server, demo, capsys):
    """Runs last: it adds notes to the shared index."""
    notes_dir = demo["index"] / "notes"
    page, dialogs = open_page(browser, server)
    try:
        good = ("---\ntitle: \"An uploaded note on flattery\"\nsummary: \"Uploaded through the page.\"\n"
                "tags: [upload]\n---\n\nAssistants flatter users who upload notes.\n").encode()
        files = [
            {"name": "uploaded note.md", "mimeType": "text/markdown", "buffer": good},
            {"name": "../../escape-attempt.md", "mimeType": "text/markdown", "buffer": good.replace(b"An uploaded", b"A second")},
            {"name": "broken.pdf", "mimeType": "application/pdf", "buffer": b"not a pdf at all"},
            {"name": "笔记 ノート.md", "mimeType": "text/markdown", "buffer": good.replace(b"An uploaded", b"A CJK")},
            {"name": "???.md", "mimeType": "text/markdown", "buffer": good.replace(b"An uploaded", b"A refused")},
        ]
        page.locator(".st-key-uploads input[type=file]").set_input_files(files)
        expect(page.locator(".st-key-uploads")).to_contain_text("broken.pdf", timeout=WAIT_MS)
        page.locator(".st-key-ingest_uploads button").click()
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Ingested:")).to_be_visible(timeout=WAIT_MS)
        warning = sidebar.get_by_test_id("stAlertContentWarning")
        expect(sidebar).to_contain_text("broken.pdf")
        expect(warning.first).to_contain_text("unreadable PDF")
        expect(sidebar).to_contain_text("???.md")  # the refused name, still shown after the ingest's rerun
        saved = sorted(p.name for p in notes_dir.iterdir())
        assert saved == ["broken.pdf", "escape-attempt.md", "uploaded note.md", "笔记 ノート.md"], saved
        assert not list(demo["index"].parent.glob("escape-attempt.md"))
        assert not list(REPO.glob("escape-attempt.md"))
        warning.first.scroll_into_view_if_needed()
        path = shot(page, "06-upload.png")
        assert not dialogs
        report(capsys, f"uploads saved in {notes_dir}: {saved}", f"screenshot: {path}")
    finally:
        page.close()
