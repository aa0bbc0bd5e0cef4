"""The eval commands over the bundled question sets, through the CLI a user runs."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ui.cli import app


def test_eval_questions_scores_a_set(demo_engine):
    r = CliRunner().invoke(app, ["eval", "questions", "--index", str(demo_engine.settings.index),
                                 "--set", "demo_offtopic", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout[r.stdout.index("{"):])
    row, = data["rows"]
    assert row["set"] == "demo_offtopic" and row["questions"] == 30
    assert row["refused"] == 1.0  # everyday questions are far from every note
    assert data["composition"] is None


def test_eval_llm_replay_direct_reports_rates_by_kind():
    r = CliRunner().invoke(app, ["eval", "llm-replay", "--mode", "direct", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout[r.stdout.index("{"):])["direct"]
    assert d["keep_rate"] >= 0.9 and d["catch_rate"] >= 0.75
    assert set(d["caught"]) == {"number", "reversal", "citation", "invented", "overclaim"}
