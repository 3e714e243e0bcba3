"""Start or resume a task's study and run its workers (in this process, or ``n_workers`` processes).

``n_trials`` is the total the study should hold (COMPLETE + PRUNED): a rerun after an interrupted
run only runs what is missing. The coordinator writes the study's spec (so workers on other
machines can join with nothing but the storage URL and the study name) and the MLflow tuning run
the trials nest under.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from optuna.trial import TrialState

from seqhealth.engine.fit import resolve_train_config
from seqhealth.tasks.registry import TASK_NAMES
from seqhealth.tuning.mlflow_trials import fail_trial_run, unfailed_trial_runs
from seqhealth.tuning.space import task_space
from seqhealth.tuning.study import (
    MLFLOW_ATTR,
    SPEC_ATTR,
    best_trial_or_none,
    fail_stale_trials,
    n_finished,
    open_study,
    public_url,
    study_name_for,
    trial_counts,
)
from seqhealth.tuning.worker import count_gpus, device_env, run_worker, threads_per_worker

logger = logging.getLogger(__name__)



def build_spec(model_input: dict, tune_cfg: dict, task_params: dict, shared_train: dict) -> dict:
    """Everything a worker needs, JSON-serialisable (it is stored in the study)."""
    task = model_input["task"]
    train_cfg = resolve_train_config(shared_train, task_params.get("train"))
    causal = bool(model_input.get("causal", False))
    space = dict(tune_cfg["space"])
    # A task's own entries (``<task>.tune_space`` in its parameters file) replace the shared ones.
    space.update(task_params.get("tune_space") or {})
    trial_train = {
        **train_cfg,
        # A trial is short; the pruner, not early stopping, ends the hopeless ones; one device.
        "max_epochs": int(tune_cfg["trial_epochs"]),
        "early_stopping_patience": 0,
        "devices": 1,
        "strategy": "auto",
        "num_nodes": 1,
        "enable_progress_bar": False,
    }
    return {
        "task": task,
        "data_fingerprint": model_input["fingerprint"]["sha256"],
        "causal": causal,
        "space": task_space(space, causal),
        "base_model_params": dict(task_params["model"]),
        "trial_train": trial_train,
        "monitor": train_cfg.get("monitor", "val_loss"),
        "direction": "maximize" if train_cfg.get("monitor_mode", "min") == "max" else "minimize",
        "seed": int(tune_cfg.get("seed", 42)),
        "sampler": dict(tune_cfg.get("sampler") or {}),
        "pruner": dict(tune_cfg.get("pruner") or {}),
        "n_trials": int(tune_cfg["n_trials"]),
        "max_failed_trials": int(tune_cfg.get("max_failed_trials", 5)),
        "heartbeat_interval_s": int(tune_cfg.get("heartbeat_interval_s", 10)),
        "grace_period_s": int(tune_cfg.get("grace_period_s", 30)),
    }


def close_stale_trial_runs(study, tracking_uri: str | None, parent_run_id: str | None) -> list[int]:
    """Mark failed the MLflow runs of trials that Optuna now records as FAIL; returns their numbers.

    A killed process leaves its trial's run RUNNING, or, when it died between ending the run
    (complete / pruned) and Optuna recording that result, FINISHED with a result the study never
    got. Either way the study says FAIL, so the run must too. Runs are found by their study tag,
    not by the trial's ``mlflow_run_id`` attribute: a process killed between creating the run and
    recording its id leaves only the tag.
    """
    if not tracking_uri or not parent_run_id:
        return []
    failed = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
    closed = []
    for run_id, number, state in unfailed_trial_runs(tracking_uri, parent_run_id, study.study_name):
        if number not in failed:
            continue
        if state == "running":
            reason = "trial marked FAIL: its process stopped sending heartbeats"
        else:
            reason = (f"trial marked FAIL: its process was killed after this run ended as {state!r} "
                      "but before Optuna recorded that result")
        fail_trial_run(tracking_uri, run_id, reason)
        closed.append(number)
    return sorted(closed)


def _spawn_workers(storage_url: str, study_name: str, model_input: dict, n_trials: int, n_workers: int,
                   timeout_s, tracking_uri, parent_run_id) -> list[int]:
    """``n_workers`` worker processes on this machine; returns their exit codes."""
    threads = threads_per_worker(n_workers)
    n_gpus = count_gpus()
    with tempfile.TemporaryDirectory(prefix="seqhealth-tune-") as tmp:
        input_path = Path(tmp) / "model_input.pkl"
        with input_path.open("wb") as handle:
            pickle.dump(model_input, handle, protocol=pickle.HIGHEST_PROTOCOL)
        processes = []
        for rank in range(n_workers):
            command = [sys.executable, "-m", "seqhealth.tuning.worker", "--storage", storage_url,
                       "--study", study_name, "--model-input", str(input_path), "--n-trials", str(n_trials),
                       "--rank", str(rank), "--threads", str(threads)]
            if timeout_s:
                command += ["--timeout-s", str(timeout_s)]
            if tracking_uri and parent_run_id:
                command += ["--mlflow-tracking-uri", tracking_uri, "--mlflow-parent-run-id", parent_run_id]
            env = {**os.environ, **device_env(rank, n_gpus)}
            processes.append(subprocess.Popen(command, env=env))
        try:
            return [process.wait() for process in processes]
        finally:
            for process in processes:  # the coordinator was interrupted: do not leave orphans
                if process.poll() is None:
                    process.terminate()
                    process.wait(timeout=30)


def prepare_study(model_input: dict, tune_cfg: dict, task_params: dict, shared_train: dict,
                  tracking_uri: str | None = None, parent_run_id: str | None = None):
    """Create or load the task's study, store its spec and MLflow tuning run, fail stale trials."""
    task = tune_cfg["task"]
    if task not in TASK_NAMES:
        raise ValueError(f"tune.task must be one of {TASK_NAMES}, got {task!r}")
    if model_input.get("task") != task:
        raise ValueError(f"tune.task={task!r} but the model input is for task {model_input.get('task')!r}")
    spec = build_spec(model_input, tune_cfg, task_params, shared_train)
    study = open_study(str(tune_cfg["storage"]), study_name_for(task, spec["data_fingerprint"]), spec)
    study.set_user_attr(SPEC_ATTR, spec)
    if tracking_uri and parent_run_id:
        study.set_user_attr(MLFLOW_ATTR, {"tracking_uri": tracking_uri, "parent_run_id": parent_run_id})
    fail_stale_trials(study)
    close_stale_trial_runs(study, tracking_uri, parent_run_id)
    return study


def run_study(model_input: dict, tune_cfg: dict, task_params: dict, shared_train: dict,
              tracking_uri: str | None = None, parent_run_id: str | None = None) -> dict:
    """Create/resume the study, run what is missing up to ``tune_cfg['n_trials']``, summarise."""
    study = prepare_study(model_input, tune_cfg, task_params, shared_train, tracking_uri, parent_run_id)
    storage_url, study_name = str(tune_cfg["storage"]), study.study_name
    n_trials, n_workers = int(tune_cfg["n_trials"]), max(1, int(tune_cfg.get("n_workers", 1)))
    already = n_finished(study)
    logger.info("study %s in %s: %d of %d trials finished; running the rest with %d worker(s)",
                study_name, public_url(storage_url), already, n_trials, n_workers)
    exit_codes: list[int] = []
    if already < n_trials:
        if n_workers == 1:
            import torch

            torch.set_num_threads(threads_per_worker(1))
            run_worker(storage_url, study_name, model_input, n_trials, tune_cfg.get("timeout_s"),
                       tracking_uri, parent_run_id)
        else:
            exit_codes = _spawn_workers(storage_url, study_name, model_input, n_trials, n_workers,
                                        tune_cfg.get("timeout_s"), tracking_uri, parent_run_id)
            if any(exit_codes):
                logger.error("tuning workers exited with %s (see their logs above)", exit_codes)
    close_stale_trial_runs(study, tracking_uri, parent_run_id)
    return study_summary(study, storage_url, n_trials, already, exit_codes)


def study_summary(study, storage_url: str, n_trials: int, finished_before: int = 0, exit_codes=()) -> dict:
    best = best_trial_or_none(study)
    counts = trial_counts(study)
    if best is None:
        raise RuntimeError(f"study {study.study_name}: no trial completed ({counts}); "
                           "see the failed trials' 'optuna.error' tags in MLflow")
    return {
        "study_name": study.study_name,
        "storage": public_url(storage_url),
        "n_trials_wanted": n_trials,
        "finished_before_this_run": finished_before,
        "counts": counts,
        "worker_exit_codes": list(exit_codes),
        "best_trial": best.number,
        "best_value": float(best.value),
        "best_params": dict(best.params),
        "direction": study.direction.name.lower(),
    }
