"""Per-index calibration of the abstention threshold: the choice rule, and the stored value in use."""

import pytest
from typer.testing import CliRunner

from rag import Engine, InquireError
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
    return [n["title"] for n in notes.values()] + [n["summary"].split(". ")[0] + "?" for n in notes.values()]


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
