"""Worker processes: SIGKILL and resume (SQLite), and two workers sharing a PostgreSQL study."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import optuna
import pytest
from optuna.trial import TrialState

from seqhealth.tuning.coordinator import close_stale_trial_runs, prepare_study, run_study
from seqhealth.tuning.mlflow_trials import TrialTracker
from seqhealth.tuning.study import make_storage

from .conftest import SHARED_TRAIN, TASK_PARAMS, child_runs, tune_config

POSTGRES_URL = os.environ.get("SEQHEALTH_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def _worker_command(storage: str, study_name: str, model_input_path, n_trials: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "seqhealth.tuning.worker", "--storage", storage, "--study", study_name,
            "--model-input", str(model_input_path), "--n-trials", str(n_trials), "--threads", "1", *extra]


def _wait_for(condition, timeout_s: float, what: str, process=None) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"worker exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_sigkill_then_rerun_finishes_the_same_study_without_repeating_trials(tmp_path, model_input,
                                                                              model_input_path, mlflow_parent):
    uri, parent, client = mlflow_parent
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    tune = tune_config(storage, 6)
    study = prepare_study(model_input, tune, TASK_PARAMS, SHARED_TRAIN, uri, parent)

    def snapshot(states):
        return {t.number: (t.params, t.state, t.value) for t in study.get_trials(states=states)}

    # The tuning run, in its own process group, killed like `kill -9 -PGID` once 2 trials finished
    # and a third is in flight.
    worker = subprocess.Popen(_worker_command(storage, study.study_name, model_input_path, 6),
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: len(snapshot((TrialState.COMPLETE, TrialState.PRUNED))) >= 2
                  and any(r.info.status == "RUNNING" for r in child_runs(client, parent)),
                  120, "2 finished trials and 1 running", worker)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    finished_before = snapshot((TrialState.COMPLETE, TrialState.PRUNED))
    killed = sorted(snapshot((TrialState.RUNNING,)))
    assert killed and len(finished_before) < 6

    summary = run_study(model_input, tune, TASK_PARAMS, SHARED_TRAIN, uri, parent)

    trials = study.get_trials()
    assert summary["counts"]["complete"] + summary["counts"]["pruned"] == 6
    assert summary["finished_before_this_run"] == len(finished_before)
    assert [t.number for t in trials] == list(range(len(trials)))  # numbers unique and dense
    # what finished before the kill is still there, unchanged; what was running is FAIL (stale)
    assert {n: v for n, v in snapshot((TrialState.COMPLETE, TrialState.PRUNED)).items() if n in finished_before} == finished_before
    assert [trials[n].state for n in killed] == [TrialState.FAIL] * len(killed)
    assert len(trials) == 6 + len(killed)
    # The killed trial's MLflow run was left RUNNING by the dead process (or FINISHED, when the kill
    # fell between ending the run and Optuna recording the result); the rerun marked it failed, so
    # every trial's run now says what the study says.
    runs = {int(r.data.tags["optuna.trial_number"]): r for r in child_runs(client, parent)}
    assert [(runs[n].info.status, runs[n].data.tags["optuna.state"]) for n in killed if n in runs] == [
        ("FAILED", "failed") for n in killed if n in runs]
    study_says = {t.number: {"FAIL": "failed"}.get(t.state.name, t.state.name.lower()) for t in trials}
    assert {n: r.data.tags["optuna.state"] for n, r in runs.items()} == {n: study_says[n] for n in runs}


def test_trial_killed_after_its_run_ended_but_before_optuna_recorded_it_is_failed_in_mlflow(
        tmp_path, model_input, mlflow_parent):
    uri, parent, client = mlflow_parent
    study = prepare_study(model_input, tune_config(f"sqlite:///{tmp_path / 'optuna.db'}", 4), TASK_PARAMS,
                          SHARED_TRAIN, uri, parent)
    tracker = TrialTracker(uri, parent, study.study_name)
    done, killed = study.ask(), study.ask()
    done_run, killed_run = tracker.start(done.number, {}), tracker.start(killed.number, {})
    tracker.finish(done_run, "complete", value=0.7)
    study.tell(done, 0.7)
    tracker.finish(killed_run, "pruned")  # the process dies here, before Optuna hears of the pruning
    study._storage.set_trial_state_values(killed._trial_id, TrialState.FAIL)  # what the stale check does

    assert close_stale_trial_runs(study, uri, parent) == [killed.number]
    assert close_stale_trial_runs(study, uri, parent) == []  # nothing left to reconcile
    failed, complete = client.get_run(killed_run), client.get_run(done_run)
    assert (failed.info.status, failed.data.tags["optuna.state"]) == ("FAILED", "failed")
    assert "ended as 'pruned'" in failed.data.tags["optuna.error"]
    assert (complete.info.status, complete.data.tags["optuna.state"]) == ("FINISHED", "complete")


def _postgres_or_skip() -> None:
    try:
        import psycopg2

        psycopg2.connect(POSTGRES_URL.replace("+psycopg2", ""), connect_timeout=3).close()
    except Exception as err:  # noqa: BLE001 - any failure means "no server to test against"
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {err}")


@pytest.mark.postgres
def test_two_workers_share_one_postgres_study(tmp_path, model_input, model_input_path, mlflow_parent):
    _postgres_or_skip()
    uri, parent, client = mlflow_parent
    tune = tune_config(POSTGRES_URL, 8)
    # a study of its own: a unique fingerprint, so concurrent CI runs never share a study
    model_input["fingerprint"] = {**model_input["fingerprint"], "sha256": f"test-{uuid.uuid4().hex[:12]}"}
    model_input_path.write_bytes(__import__("pickle").dumps(model_input))
    study = prepare_study(model_input, tune, TASK_PARAMS, SHARED_TRAIN, uri, parent)
    try:
        workers = [subprocess.Popen(_worker_command(POSTGRES_URL, study.study_name, model_input_path, 8,
                                                    "--rank", str(rank)),
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                   for rank in range(2)]
        outputs = [w.communicate(timeout=300)[0] for w in workers]
        assert [w.returncode for w in workers] == [0, 0], outputs
        trials = optuna.load_study(study_name=study.study_name, storage=make_storage(POSTGRES_URL)).get_trials()
        finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
        assert len(finished) == 8
        numbers = [t.number for t in trials]
        assert len(numbers) == len(set(numbers))
        assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) or t.user_attrs.get("seqhealth_surplus")
                   for t in trials), [(t.number, t.state) for t in trials]
        per_worker = {}
        for trial in finished:
            per_worker[trial.user_attrs["worker"]] = per_worker.get(trial.user_attrs["worker"], 0) + 1
        assert len(per_worker) == 2, f"one worker ran every trial: {per_worker}"
        runs = child_runs(client, parent)
        assert sorted(int(r.data.tags["optuna.trial_number"]) for r in runs) == sorted(t.number for t in finished)
    finally:
        optuna.delete_study(study_name=study.study_name, storage=POSTGRES_URL)
