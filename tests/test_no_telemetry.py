"""A `kedro` command contacts no analytics service: Kedro's and MLflow's telemetry are off."""

from __future__ import annotations

import subprocess
import sys

import yaml

from tests.conftest import REPO_ROOT


def test_kedro_telemetry_is_refused_by_the_committed_file():
    assert yaml.safe_load((REPO_ROOT / ".telemetry").read_text()) == {"consent": False}
    tracked = subprocess.run(["git", "ls-files", ".telemetry"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert tracked.stdout.strip() == ".telemetry"


def test_importing_seqhealth_after_mlflow_leaves_mlflow_without_a_telemetry_client(tmp_path):
    code = (
        "import os; os.environ.pop('MLFLOW_DISABLE_TELEMETRY', None); os.environ.pop('DO_NOT_TRACK', None)\n"
        "import mlflow.telemetry.client as c\n"
        "before = c.get_telemetry_client() is not None\n"
        "import seqhealth\n"
        "print(before, c.get_telemetry_client() is None)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no CI variables: MLflow would stay quiet there
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"], result.stdout
