"""The one-time export of a sentence-transformers model to ONNX, cached per model and checked against torch.

Why by hand (``torch.onnx.export``) rather than a packaged exporter: sentence-transformers' own
``backend="onnx"`` / ``"openvino"`` need optimum-onnx (pins ``transformers<4.58``) or optimum-intel
(pins ``transformers<5.6`` and pulls torchvision and nncf); either would downgrade the transformers 5 this
venv runs. fastembed runs a ready ONNX file but does not make one. So the transformer is traced here with
eager attention on a *padded* batch (the SDPA path of transformers 5 drops the attention mask on a batch
without padding and the trace then keeps that branch: vectors drifted to cosine 0.94 on shorter batches),
with batch and sequence axes dynamic, and every export is checked against ``SentenceTransformer.encode``
across sequence lengths and batch sizes before it is cached. Pooling and normalisation stay outside the
graph (``ingest.onnx_embedder``), read from the model's own sentence-transformers config.

This module is the only place that imports torch for the ONNX runtimes, and only when no export is cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from store.errors import ConfigError

EXPORT_VERSION = 1  # bump when the export itself changes: the cache key includes it
OPSET = 17  # ONNX opset of the export: read by onnxruntime >= 1.14 and OpenVINO >= 2023
MIN_COSINE = 0.9999  # an export whose vectors are farther than this from torch's is refused (issue 14)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# The texts the export is traced on and checked with: a padded batch of different lengths (see above), and
# for the check lengths from 1 word piece to past the 256-token window, alone and in batches.
_TRACE = ["a short one", "a much longer sentence, with many more word pieces than the first one has in it"]
CHECK_TEXTS = ["x", "Do models flatter their users?", "Self-correction without external feedback rarely helps. " * 3,
          " ".join(f"word{i} finding" for i in range(200)), "Reward hacking " * 120, "calibration"]


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """Where exports live: ``cache_dir`` (setting ``cache_dir`` / ``INQUIRE_CACHE_DIR``), else
    ``$XDG_CACHE_HOME/inquire``, else ``~/.cache/inquire``."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "inquire"


def model_key(model_dir: Path) -> str:
    """A fingerprint of the model folder: every file's relative path, size and modification time, and the
    export version (a changed or reinstalled model is exported again; hashing 90 MB of weights on every
    start would cost a cold ``ask`` ~0.2 s)."""
    h = hashlib.sha256(f"export-v{EXPORT_VERSION}".encode())
    for f in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(model_dir)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def exported_model(model_dir: Path, cache_dir: str | Path | None = None,
                   say: Callable[[str], None] | None = None,
                   check: Callable[[Path, Path], float] | None = None) -> Path:
    """The ONNX file of ``model_dir``: the cached one, or exported now (once; needs torch and ``onnx``).
    ``check(model_dir, onnx_file)`` gives the least cosine of the export's vectors to torch's; an export under
    MIN_COSINE is refused (the ONNX embedder passes its own check, so this module never imports it)."""
    model_dir = Path(model_dir)
    target = cache_root(cache_dir) / "onnx" / f"{model_dir.name}-{model_key(model_dir)}"
    onnx_file = target / "model.onnx"
    if onnx_file.is_file():
        return onnx_file
    say = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
    say(f"inquire: exporting the embedder {model_dir} to ONNX, once (about 10-30 s; cached in {target})")
    t = time.perf_counter()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    except OSError as e:
        raise ConfigError(f"Cannot write the embedder export cache {target.parent} ({e}); set INQUIRE_CACHE_DIR "
                          "to a writable folder.") from e
    try:
        report = _export(model_dir, tmp / "model.onnx", check)
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is readable like any other
        (tmp / "export.json").write_text(json.dumps({"model": str(model_dir), **report}, indent=2))
        try:
            os.replace(tmp, target)  # atomic: a concurrent export of the same model simply wins or loses
        except OSError:
            if not onnx_file.is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"inquire: exported in {time.perf_counter() - t:.1f} s (min cosine to torch {report['min_cosine']:.6f})")
    return onnx_file


def _export(model_dir: Path, out: Path, check: Callable[[Path, Path], float] | None) -> dict:
    try:
        import onnx  # noqa: F401 - torch.onnx.export needs it
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as e:
        raise ConfigError(f"Exporting the embedder to ONNX needs torch, transformers and onnx ({e}): "
                          "run ./setup.sh, or set INQUIRE_EMBEDDER_BACKEND=torch.") from e
    import warnings

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager", local_files_only=True).eval()
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    names = [n for n in INPUTS if n in tok.model_input_names]

    class Body(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args):
            return self.model(**dict(zip(names, args))).last_hidden_state

    enc = tok(_TRACE, padding=True, return_tensors="pt")
    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about python branches: the check below is what counts
        torch.onnx.export(Body(), tuple(enc[n] for n in names), str(out), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    worst = check(model_dir, out) if check is not None else 1.0
    if worst < MIN_COSINE:
        raise ConfigError(f"The ONNX export of {model_dir} does not reproduce torch's vectors (min cosine "
                          f"{worst:.5f} < {MIN_COSINE}); set INQUIRE_EMBEDDER_BACKEND=torch for this model.")
    import torch as _t

    return {"min_cosine": worst, "opset": OPSET, "torch": _t.__version__, "export_version": EXPORT_VERSION}
