"""A tuning worker: runs trials of a stored study until the study holds ``n_trials`` finished ones.

The same loop runs in the Kedro process (one worker), in the worker processes the tune pipeline
starts (several), and on other machines pointed at the same PostgreSQL storage::

    python -m seqhealth.tuning.worker \\
        --storage postgresql+psycopg2://USER:PASSWORD@HOST:5432/DB \\
        --study seqhealth-vitals_mortality-<fingerprint> \\
        --model-input data/05_model_input/vitals_mortality/model_input.pkl

Sampler, pruner, search space and trial training come from the study's stored spec; the model
input must have the study's data fingerprint. Torch is imported only after the worker has pinned
itself to one GPU, so ``CUDA_VISIBLE_DEVICES`` takes effect.
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import shutil
import socket
import subprocess
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def count_gpus() -> int:
    """GPUs on this machine, without initialising CUDA in this process (that would freeze
    ``CUDA_VISIBLE_DEVICES``)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
        return len([d for d in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if d.strip()])
    if not shutil.which("nvidia-smi"):
        return 0
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return 0
    return sum(1 for line in listing.splitlines() if line.startswith("GPU "))


def device_env(rank: int, n_gpus: int) -> dict[str, str]:
    """Environment pinning worker ``rank`` to one GPU (round robin) when there are several."""
    if n_gpus > 1:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        ids = [d.strip() for d in visible.split(",")] if visible else [str(i) for i in range(n_gpus)]
        return {"CUDA_VISIBLE_DEVICES": ids[rank % len(ids)]}
    return {}


def threads_per_worker(n_workers: int) -> int:
    """CPU threads each worker may use so that all workers together fit the cores we have."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(1, int(n_workers)))


def load_model_input(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model input {path} not found: run `kedro run --pipeline <task>` first")
    with path.open("rb") as handle:
        return pickle.load(handle)


def run_worker(storage_url: str, study_name: str, model_input: dict, n_trials: int | None = None,
               timeout_s: float | None = None, tracking_uri: str | None = None,
               parent_run_id: str | None = None, worker_id: str | None = None,
               rank: int | str | None = None) -> dict:
    """Run trials until the study has ``n_trials`` COMPLETE+PRUNED trials (the total, not a
    count for this call), the deadline passes or too many trials failed here.

    ``rank`` seeds this worker's sampler apart from the others' (``study.worker_seed``); None
    keeps the study's seed (the coordinator's single in-process worker).

    Returns ``{"worker", "trials": [(number, state)], "stopped": reason}``.
    """
    import optuna

    from seqhealth.tuning.mlflow_trials import tracker_or_none
    from seqhealth.tuning.objective import SURPLUS_ATTR, TrialObjective
    from seqhealth.tuning.study import (
        MLFLOW_ATTR,
        OCCUPYING_STATES,
        fail_stale_trials,
        n_finished,
        open_study,
    )

    study = open_study(storage_url, study_name, worker=rank)
    spec = study.user_attrs["spec"]
    fingerprint = model_input.get("fingerprint", {}).get("sha256")
    if fingerprint != spec["data_fingerprint"] or model_input.get("task") != spec["task"]:
        raise ValueError(f"model input (task {model_input.get('task')!r}, fingerprint {fingerprint}) is not the data "
                         f"of study {study_name!r} (task {spec['task']!r}, fingerprint {spec['data_fingerprint']})")
    n_trials = int(n_trials if n_trials is not None else spec["n_trials"])
    mlflow_target = study.user_attrs.get(MLFLOW_ATTR) or {}
    tracker = tracker_or_none(tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or mlflow_target.get("tracking_uri"),
                              parent_run_id or mlflow_target.get("parent_run_id"), study_name)
    worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    objective = TrialObjective(spec, model_input, n_trials, tracker, worker_id)
    deadline = time.monotonic() + float(timeout_s) if timeout_s else None
    poll_s = max(0.5, min(5.0, spec["heartbeat_interval_s"] / 2))
    mine: list = []
    failures = 0
    started = time.monotonic()
    while True:
        fail_stale_trials(study)
        if n_finished(study) >= n_trials:
            stopped = "n_trials reached"
            break
        if deadline is not None and time.monotonic() >= deadline:
            stopped = f"timeout_s={timeout_s} reached"
            break
        if failures >= int(spec["max_failed_trials"]):
            stopped = f"{failures} trials failed in this worker (max_failed_trials)"
            logger.error("worker %s stops: %s", worker_id, stopped)
            break
        if len(study.get_trials(deepcopy=False, states=OCCUPYING_STATES)) >= n_trials:
            # The remaining slots are held by running trials of other workers; one of them may
            # still fail (or go stale), which frees its slot.
            time.sleep(poll_s)
            continue
        done: list = []
        study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=[lambda _s, trial: done.append(trial)])
        for trial in done:
            mine.append((trial.number, trial.state.name.lower()))
            if trial.state == optuna.trial.TrialState.FAIL and not trial.user_attrs.get(SURPLUS_ATTR):
                failures += 1
            log_progress(study, trial, n_trials, worker_id, time.monotonic() - started)
    logger.info("worker %s: ran %d trials (%s); stopped: %s", worker_id, len(mine), mine, stopped)
    return {"worker": worker_id, "trials": mine, "stopped": stopped}


def log_progress(study, trial, n_trials: int, worker_id: str, elapsed_s: float) -> str:
    """One plain line per finished trial (Optuna's own per-trial log has no study progress):
    ``tuning 3/20 finished | trial 4 pruned at epoch 2 | best 0.7412 (trial 1) | worker .. | 41 s``."""
    from seqhealth.tuning.study import best_trial_or_none, n_finished

    state = trial.state.name.lower()
    if trial.value is not None:
        state += f" {study.direction.name.lower()[:3]} value {trial.value:.4f}"
    elif trial.state.name == "PRUNED" and trial.intermediate_values:
        state += f" at epoch {max(trial.intermediate_values) + 1}"
    best = best_trial_or_none(study)
    best_text = f"best {best.value:.4f} (trial {best.number})" if best is not None else "no complete trial yet"
    line = (f"tuning {n_finished(study)}/{n_trials} finished | trial {trial.number} {state} | {best_text} "
            f"| worker {worker_id} | {elapsed_s:.0f} s")
    logger.info(line)
    return line


def _parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run trials of a seqhealth Optuna study (see module docstring).")
    parser.add_argument("--storage", required=True, help="RDB URL of the study (postgresql+psycopg2://..., sqlite:///...)")
    parser.add_argument("--study", required=True, help="study name printed by `kedro run --pipeline tune`")
    parser.add_argument("--model-input", required=True, help="this machine's copy of the task's model_input.pkl")
    parser.add_argument("--n-trials", type=int, default=None, help="total wanted (default: the study's)")
    parser.add_argument("--timeout-s", type=float, default=None)
    parser.add_argument("--rank", type=int, default=None, help="worker index on this machine (GPU round robin)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    parser.add_argument("--mlflow-tracking-uri", default=None)
    parser.add_argument("--mlflow-parent-run-id", default=None)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.rank is not None:
        os.environ.update(device_env(args.rank, count_gpus()))
    import torch  # after pinning

    torch.set_num_threads(args.threads or threads_per_worker(1))
    torch.set_flush_denormal(True)
    run_worker(args.storage, args.study, load_model_input(args.model_input), n_trials=args.n_trials,
               timeout_s=args.timeout_s, tracking_uri=args.mlflow_tracking_uri,
               parent_run_id=args.mlflow_parent_run_id,
               # without --rank (a worker started by hand elsewhere) the seed comes from host:pid
               rank=args.rank if args.rank is not None else f"{socket.gethostname()}:{os.getpid()}")


if __name__ == "__main__":
    main()
