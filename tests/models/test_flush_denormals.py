"""Denormals are flushed on every intra-op thread, not only on the thread that asked (issue 18)."""

from __future__ import annotations

import subprocess
import sys

# Products of two 1e-20 floats are 1e-40: a float32 denormal unless flushed to zero. The first
# torch op creates the intra-op pool; only threads created after the flag was set inherit it.
_PROBE = """
import torch
{setup}
torch.set_num_threads(2)
x = torch.full((4_000_000,), 1e-20)
kept = float(((x * x) != 0).float().mean())
{late}
kept = float(((x * x) != 0).float().mean())
print(kept)
"""


def _kept(setup: str, late: str = "") -> float:
    code = _PROBE.format(setup=setup, late=late)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return float(out.stdout.strip().splitlines()[-1])


def test_importing_the_engine_flushes_denormals_on_every_thread():
    assert _kept("import seqhealth.engine.fit") == 0.0


def test_a_flag_set_after_the_pool_exists_leaves_worker_threads_on_denormals():
    # Why the flag is set at import: set later (as fit_sequence_model does), half the work keeps them.
    assert _kept("", late="torch.set_flush_denormal(True)") > 0.0
