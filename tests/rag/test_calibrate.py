"""Per-index calibration of the abstention threshold: the choice rule, and the stored value in use."""

import pytest
from typer.testing import CliRunner

from rag import Engine, InputError, InquireError
from rag.calibrate import OFF_TOPIC, calibrate, choose, refused, save
from rag.settings import DEFAULT_ABSTAIN_BELOW
from ui.cli import app


def test_choose_refuses_at_most_the_allowed_share_and_sits_between_the_classes():
    pos = [(0.5, 0.5), (0.4, 0.5), (0.3, 0.5), (0.2, 0.5), (0.1, 0.5)] + [(0.6, 0.5)] * 15
    neg = [(0.05, 0.2), (0.15, 0.3), (0.35, 0.4)]
    t = choose(pos, neg, 0.05, 0.6)
    assert refused(pos, t, 0.6).count(True) == 1  # 5% of 20
    assert refused(neg, t, 0.6) == [True, True, False]
    assert 0.15 < t < 0.2  # between the last refused unanswerable and the first kept answerable
    # a question whose best note is close enough is never refused, whatever its score
    assert refused([(0.01, 0.7)], 0.5, 0.6) == [False]
    # no answerable question may be refused: the threshold stays under the lowest
    assert choose(pos, neg, 0.0, 0.6) <= 0.1


@pytest.fixture
def small_engine(tmp_path, notes_dir):
    eng = Engine.open(tmp_path / "idx", create=True)
    eng.ingest([notes_dir])
    yield eng
    eng.close()


def _questions(eng):
    import sqlite3

    ids = [r[0] for r in sqlite3.connect(eng.index.root / "manifest.sqlite").execute("SELECT id FROM notes")]
    notes = eng.index.manifest.notes(ids)
    firsts = [n["summary"].split(". ")[0] for n in notes.values()]
    # a cut-off fragment ("Gerstgrasser et al?") is no question the notes answer: it would (rightly) make the
    # threshold unsafe, see the test below
    return [n["title"] for n in notes.values()] + [f + "?" for f in firsts if len(f.split()) >= 5]


def test_calibration_is_stored_used_overridden_and_reset(small_engine, monkeypatch):
    eng = small_engine
    assert eng.threshold_source() == (DEFAULT_ABSTAIN_BELOW, "default")
    qs = _questions(eng)
    cal = calibrate(eng, qs, max_false=0.05)
    assert cal.answerable == len(set(qs)) and cal.unanswerable == len(OFF_TOPIC)
    assert cal.false_abstention <= 0.05 and cal.abstention_on_unanswerable >= 0.9
    save(eng, cal)
    again = Engine.open(eng.settings.index)
    assert again.threshold_source() == (cal.abstain_below, "calibrated for this index")
    assert again.status()["calibration"]["abstain_below"] == cal.abstain_below
    line = again.ask(OFF_TOPIC[2])
    assert line.abstained and line.meta["abstain_below"] == cal.abstain_below
    monkeypatch.setenv("INQUIRE_SYNTHESIS__ABSTAIN_BELOW", "0.5")
    assert Engine.open(eng.settings.index).threshold_source() == (0.5, "setting")
    monkeypatch.delenv("INQUIRE_SYNTHESIS__ABSTAIN_BELOW")
    r = CliRunner().invoke(app, ["calibrate", "-", "--reset", "--index", str(eng.settings.index)])
    assert r.exit_code == 0, r.output
    assert Engine.open(eng.settings.index).threshold_source() == (DEFAULT_ABSTAIN_BELOW, "default")


def test_cli_calibrate_dry_run_and_too_few_questions(small_engine, tmp_path):
    idx = str(small_engine.settings.index)
    qfile = tmp_path / "q.txt"
    qfile.write_text("\n".join(_questions(small_engine)))
    r = CliRunner().invoke(app, ["calibrate", str(qfile), "--dry-run", "--index", idx])
    assert r.exit_code == 0, r.output
    assert "would be refused" in r.stdout and "dry run" in r.stderr
    assert Engine.open(idx).threshold_source()[1] == "default"
    few = tmp_path / "few.txt"
    few.write_text("Why do models flatter?\nWhat is alignment faking?\n")
    r = CliRunner().invoke(app, ["calibrate", str(few), "--index", idx])
    assert r.exit_code == 1 and "too few to calibrate" in r.stderr
    with pytest.raises(InquireError):
        calibrate(small_engine, ["one?", "two?"])


def test_one_off_topic_answerable_question_cannot_store_a_threshold_that_lets_off_topic_through(small_engine, tmp_path):
    """One bad "answerable" question used to pull the threshold to 0.0, stored without a word; then
    "What is the capital of France?" was answered from the notes."""
    eng, idx = small_engine, str(small_engine.settings.index)
    bad = "What is the capital of France?"
    qs = _questions(eng) + [bad]
    cal = calibrate(eng, qs)
    assert not cal.safe
    assert cal.off_topic_answered, "the built-in off-topic questions it would answer are named"
    assert bad in [d["question"] for d in cal.dragged_down]
    with pytest.raises(InputError, match="--force"):
        save(eng, cal)
    qfile = tmp_path / "q.txt"
    qfile.write_text("\n".join(qs))
    r = CliRunner().invoke(app, ["calibrate", str(qfile), "--index", idx])
    assert r.exit_code == 1, r.output
    assert "not stored" in r.stderr and "--force" in r.stderr
    assert bad in r.stdout and "dragged" in r.stdout
    assert Engine.open(idx).threshold_source()[1] == "default"
    assert Engine.open(idx).ask(bad).abstained  # the default still refuses it
    # --force stores it anyway, with the warning
    r = CliRunner().invoke(app, ["calibrate", str(qfile), "--index", idx, "--force"])
    assert r.exit_code == 0, r.output
    assert "stored anyway" in r.stderr
    assert Engine.open(idx).threshold_source() == (cal.abstain_below, "calibrated for this index")


def test_a_threshold_under_the_floor_is_unsafe_even_when_off_topic_questions_are_refused():
    from rag.calibrate import MIN_ABSTAIN_BELOW, check

    pos = [(0.5, 0.5)] * 20
    off = [(0.0, 0.1)] * 5  # off-topic questions scoring 0 are refused by any threshold above 0
    problems, off_answered, _ = check(MIN_ABSTAIN_BELOW / 2, ["q"] * 20, pos, ["o"] * 5, off, 0.6)
    assert problems and "floor" in problems[0] and not off_answered
    assert check(MIN_ABSTAIN_BELOW * 2, ["q"] * 20, pos, ["o"] * 5, off, 0.6)[0] == []
