"""Fixtures shared by the whole suite: project copies, `kedro run` in a subprocess, shared data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def kedro_env(**extra: str) -> dict:
    """Environment for a `kedro run` subprocess: no telemetry, wide logs, project-local MLflow."""
    # mlflow.set_registry_uri() writes MLFLOW_REGISTRY_URI into os.environ (and set_registry_uri(None)
    # leaves it there): an earlier in-process test must not point a project's registry elsewhere.
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    env.update(
        {
            "KEDRO_DISABLE_TELEMETRY": "true",
            "COLUMNS": "200",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONWARNINGS": "ignore",
        }
    )
    env.update(extra)
    return env


def make_project_copy(dest: Path, demo_data: bool = True) -> Path:
    """A self-contained copy of the project (src must be a real folder: Kedro checks it)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("src", "conf"):
        shutil.copytree(REPO_ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "local"))
    (dest / "conf" / "local").mkdir(exist_ok=True)
    shutil.copy2(REPO_ROOT / "pyproject.toml", dest / "pyproject.toml")
    (dest / "data").mkdir(exist_ok=True)
    if demo_data:
        subprocess.run(
            [sys.executable, "-m", "seqhealth.demo_data", "--out", str(dest / "data" / "01_raw")],
            check=True,
            cwd=dest,
            env=kedro_env(),
            capture_output=True,
        )
    return dest


def run_kedro(project: Path, *args: str, timeout: int = 1200, check: bool = True, **env_extra):
    """`kedro run ARGS` in ``project``; on failure the log tail is in the assertion message."""
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", *args],
        cwd=project,
        env=kedro_env(**env_extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kedro run {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
    return result


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared real-data samples not present at {SHARED_DATA} (fresh clone)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def default_run(tmp_path_factory) -> Path:
    """The default `kedro run` (all four tasks on demo data), once per test session."""
    project = make_project_copy(tmp_path_factory.mktemp("default_run") / "seqhealth")
    # Python's default warning filters, as a user's run has them: tests/test_run_output.py counts
    # the warnings and reads the per-epoch lines and the closing summary from this log.
    result = run_kedro(project, PYTHONWARNINGS="")
    (project / "kedro_run.stdout").write_text(result.stdout)
    (project / "kedro_run.stderr").write_text(result.stderr)
    return project


def tiny_tagging_model_input(seed: int = 0, n: int = 32) -> dict:
    """A learnable toy tagging task (tag every G) in the model-input layout the tasks produce."""
    import numpy as np

    from seqhealth.engine.fingerprint import samples_fingerprint

    rng = np.random.default_rng(seed)

    def sample():
        length = int(rng.integers(20, 80))
        x = rng.integers(1, 5, length).astype(np.uint8)
        return {"x": x, "y": (x == 3).astype(np.float32), "length": length}

    splits = {name: [sample() for _ in range(n)] for name in ("train", "val", "test")}
    return {"task": "toy_tagging", "task_kind": "tagging", "n_classes": 1, "input_kind": "tokens",
            "input_size": 6, "splits": splits, "fingerprint": samples_fingerprint(splits)}
