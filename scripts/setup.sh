#!/usr/bin/env bash
# Create .venv and install seqhealth with its pinned stack (idempotent; ~90 s the first time).
# torch is installed FIRST and pinned: an unpinned torch would pull a multi-GB CUDA build.
# GPU users: install the CUDA build of torch 2.13 into .venv before running this (README).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
export KEDRO_DISABLE_TELEMETRY=true
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.seqhealth-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install --quiet "torch==2.13.0"
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi
# No system packages here: `make run` must not apt-get anything. The browser the Kedro-Viz
# test needs is installed by `make test` only (scripts/setup_test_browser.sh).
