"""The README's everyday commands, exactly as a new user types them, in a fresh clone.

The clone is the working tree's tracked (and not ignored) files, committed into a new git
repository; ``.venv`` is a link to this interpreter's environment (what ``make setup`` built), and
nothing is activated: PATH has no ``.venv/bin`` and no telemetry / MLflow variable is set. The
trained models come from the session's default run (``default_run``: the same ``kedro run`` that
``make run`` starts), copied in so the serving, prediction and retraining commands have a champion.

Every Python process records the hosts it resolves or connects to (an audit hook in
``sitecustomize``): only loopback may appear, i.e. no telemetry or other phone-home.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

README = (REPO_ROOT / "README.md").read_text()
LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "", None}
AUDIT = '''
import json, os, socket, sys
_log = os.environ["SEQHEALTH_NET_LOG"]
def _hook(event, args):
    if event in ("socket.getaddrinfo", "socket.connect"):
        host = args[0] if event == "socket.getaddrinfo" else (args[1][0] if isinstance(args[1], tuple) else None)
        if host not in (None, "", "127.0.0.1", "localhost", "::1", "0.0.0.0"):
            with open(_log, "a") as handle:
                handle.write(json.dumps({"host": str(host), "argv": sys.argv[:3]}) + "\\n")
sys.addaudithook(_hook)
'''


def _user_env(clone: Path) -> dict:
    """A new user's shell: no activated venv, no opt-out variables, no MLflow URI."""
    drop = {"KEDRO_DISABLE_TELEMETRY", "DO_NOT_TRACK", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI",
            "VIRTUAL_ENV", "PYTHONWARNINGS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYTEST")}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    hook_dir = clone.parent / "audit"
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(AUDIT)
    env["PYTHONPATH"] = str(hook_dir)
    env["SEQHEALTH_NET_LOG"] = str(clone.parent / "net.log")
    return env


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fresh_clone") / "seqhealth"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO_ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (REPO_ROOT / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, root / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "clone"], cwd=root, check=True)
    (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    stamp = Path(sys.prefix) / ".seqhealth-installed"
    if stamp.exists():  # set up already (scripts/setup.sh): the clone's pyproject is not newer
        os.utime(root / "pyproject.toml", (stamp.stat().st_mtime - 60,) * 2)
    return root


@pytest.fixture(scope="module")
def trained(clone, default_run) -> Path:
    """The clone after `make run`: the session's default run's data, models and MLflow store."""
    if not (clone / "mlflow.db").exists():
        shutil.copytree(default_run / "data", clone / "data", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("checkpoints"))
        shutil.copy2(default_run / "mlflow.db", clone / "mlflow.db")
    return clone


def _make(clone: Path, *args: str, timeout: int = 900) -> str:
    result = subprocess.run(["make", *args], cwd=clone, env=_user_env(clone), capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"make {' '.join(args)}:\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
    return result.stdout + result.stderr


def _pids_in(folder: Path) -> set[int]:
    """Processes whose working directory is the clone (what a server left behind)."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")).is_relative_to(folder):
                found.add(int(proc.name))
        except OSError:
            continue
    return found


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


class Server:
    """``make <target>`` in the background; stopped like a service manager does: SIGTERM to make."""

    def __init__(self, clone: Path, target: str, url: str, **variables: str):
        self.clone, self.url = clone, url
        args = [f"{k}={v}" for k, v in variables.items()]
        self.process = subprocess.Popen(["make", target, *args], cwd=clone, env=_user_env(clone),
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 240
        while _get(url) != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"make {target}: {url} never answered:\n{self.process.stdout.read()[-4000:]}")
            time.sleep(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        deadline = time.monotonic() + 30
        while _pids_in(self.clone) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = _pids_in(self.clone)
        for pid in left:  # never leave them running, but fail below
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert not left, f"processes still running after SIGTERM to make: {left}"
        assert _get(self.url) == 0, f"{self.url} still answers"


def free_port() -> int:
    """A free port under 49152 (Kedro-Viz refuses ephemeral-range ports)."""
    import random
    import socket

    for port in random.Random(os.getpid()).sample(range(20000, 40000), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 40000")


def _readme_block_line(pattern: str) -> str:
    (line,) = [line for line in README.splitlines() if re.search(pattern, line)]
    return line


def test_serving_answers_the_readme_request_and_sigterm_stops_everything(trained):
    clone = trained
    port = free_port()
    server = Server(clone, "serve", f"http://127.0.0.1:{port}/ping", TASK="vitals_mortality", SERVE_PORT=str(port))
    try:
        curl = _readme_block_line(r"^curl .*/invocations").replace(":5001/", f":{port}/")
        result = subprocess.run(curl, shell=True, cwd=clone, env=_user_env(clone), capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        predictions = pd.DataFrame(json.loads(result.stdout)["predictions"])
        assert sorted(predictions["patient_id"]) == ["stay-1001", "stay-1002"]
        assert predictions["risk"].between(0, 1).all()
    finally:
        server.stop()


@pytest.mark.parametrize(("target", "port_variable", "path"), [
    ("mlflow-ui", "MLFLOW_PORT", "/health"),
    ("viz", "VIZ_PORT", "/api/main"),
    ("notebook", "NOTEBOOK_PORT", "/api"),
])  # fmt: skip
def test_servers_start_from_make_and_stop_whole_on_sigterm(clone, target, port_variable, path):
    port = free_port()
    Server(clone, target, f"http://127.0.0.1:{port}{path}", **{port_variable: str(port)}).stop()


def test_batch_commands_work_and_leave_the_clone_clean_without_phoning_home(trained):
    clone = trained
    net_log = clone.parent / "net.log"
    net_log.unlink(missing_ok=True)  # kedro commands only (a browser-facing server may fetch news)
    quick = "vitals_mortality.train.max_epochs=1,tune.trial_epochs=1"
    out = _make(clone, "predict", "TASK=vitals_mortality", "DATA=data/01_raw/vitals_mortality")
    assert (clone / "data/07_model_output/vitals_mortality/predictions.parquet").is_file(), out[-3000:]
    _make(clone, "tune", "TASK=vitals_mortality", "TRIALS=2", "WORKERS=2", f"PARAMS={quick}")
    out = _make(clone, "retrain", "TASK=vitals_mortality", f"PARAMS={quick}")
    decision = json.loads((clone / "data/08_reporting/vitals_mortality/retrain_decision.json").read_text())
    assert decision["decision"] in ("promoted", "kept", "skipped"), out[-3000:]
    _make(clone, "airflow-dag")  # regenerates the committed DAG: identical, so git sees no change
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout
    assert status == "", f"commands changed tracked files (telemetry? a stale DAG?):\n{status}"
    assert "kedro_telemetry" not in (clone / "pyproject.toml").read_text()
    contacted = net_log.read_text().splitlines() if net_log.exists() else []
    assert contacted == [], f"network lookups/connections beyond loopback: {contacted[:5]}"
