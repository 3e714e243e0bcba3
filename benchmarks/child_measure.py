"""Run one benchmark measurement in a fresh interpreter, so its peak RSS is its own.

The calling script handles ``--child KIND FOLDER CACHE PER_PARTITION`` by printing its
measurement as one JSON line (its last line of output)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def measure_in_child(script: str, kind: str, folder: Path, cache: Path, per_partition: int) -> dict:
    done = subprocess.run([sys.executable, script, "--child", kind, str(folder), str(cache), str(per_partition)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{kind} measurement of {folder} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
