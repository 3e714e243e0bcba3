"""Real studies (SQLite storage in tmp) with real training and real MLflow runs."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from seqhealth.tuning.coordinator import prepare_study, run_study
from seqhealth.tuning.study import make_storage

from .conftest import SHARED_TRAIN, TASK_PARAMS, child_runs, tune_config


def _trials(storage_url: str, study_name: str) -> list:
    return optuna.load_study(study_name=study_name, storage=make_storage(storage_url)).get_trials()


# Pruning on the validation loss, with the first trials queued so that a useful learning rate
# comes first and two that cannot learn in 3 epochs (1e-5) follow: they fall under the median at
# the first prunable epoch. Left to the sampler alone, whether anything is pruned depends on the
# order in which it happens to draw good and bad configurations.
LOSS_MONITORED = {**TASK_PARAMS, "train": {"monitor": "val_loss", "monitor_mode": "min"}}


def test_trials_are_pruned_nested_in_mlflow_and_a_rerun_resumes(tmp_path, model_input, mlflow_parent):
    uri, parent, client = mlflow_parent
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    tune = tune_config(storage, 6)
    tune["space"]["lr"] = {"type": "float", "low": 1e-5, "high": 3e-2, "log": True}  # room for hopeless rates
    study = prepare_study(model_input, tune, LOSS_MONITORED, SHARED_TRAIN, uri, parent)
    for lr in (0.03, 1e-5, 1e-5):
        study.enqueue_trial({"lr": lr, "hidden_size": 16})
    summary = run_study(model_input, tune, LOSS_MONITORED, SHARED_TRAIN, uri, parent)
    counts = summary["counts"]
    assert counts["complete"] + counts["pruned"] == 6 and counts["fail"] == 0
    assert counts["pruned"] >= 1, "median pruner (1 startup trial, warmup 1 epoch, 3 epochs) pruned nothing"
    trials = _trials(storage, summary["study_name"])

    runs = {int(r.data.tags["optuna.trial_number"]): r for r in child_runs(client, parent)}
    assert sorted(runs) == [t.number for t in trials]
    for trial in trials:
        run = runs[trial.number]
        assert run.data.tags["optuna.state"] == {"COMPLETE": "complete", "PRUNED": "pruned"}[trial.state.name]
        assert run.info.status == "FINISHED" and trial.user_attrs["mlflow_run_id"] == run.info.run_id
        assert run.data.params["cell"] == trial.params["cell"]
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")]
        # one value per epoch reached: all 3 when complete, fewer when pruned (warmup = 1 epoch)
        assert steps == sorted(trial.intermediate_values) == list(range(len(steps)))
        assert len(steps) == 3 if trial.state == TrialState.COMPLETE else 2 <= len(steps) < 3
        if trial.state == TrialState.COMPLETE:
            assert run.data.metrics["objective"] == pytest.approx(trial.value)
            assert trial.value == pytest.approx(min(trial.intermediate_values.values()))

    # n_trials is the TOTAL: asking for 8 runs 2 more; the first 6 are untouched.
    again = run_study(model_input, {**tune, "n_trials": 8}, LOSS_MONITORED, SHARED_TRAIN, uri, parent)
    assert again["finished_before_this_run"] == 6
    after = _trials(storage, summary["study_name"])
    assert len(after) == 8 and [t.number for t in after] == list(range(8))
    assert [(t.params, t.state, t.value) for t in after[:6]] == [(t.params, t.state, t.value) for t in trials]
    # the same total again: nothing to do
    assert run_study(model_input, {**tune, "n_trials": 8}, LOSS_MONITORED, SHARED_TRAIN, uri, parent)["counts"] == again["counts"]
    assert len(_trials(storage, summary["study_name"])) == 8


def test_failing_trials_are_recorded_and_the_study_goes_on(tmp_path, model_input, mlflow_parent):
    uri, parent, client = mlflow_parent
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    # Half the draws are the bad cell: room for many failures before the 4 trials finish.
    tune = tune_config(storage, 4, sampler={"n_startup_trials": 10}, seed=0, max_failed_trials=40)
    tune["space"]["cell"] = {"type": "categorical", "choices": ["gru", "no_such_cell"]}
    summary = run_study(model_input, tune, TASK_PARAMS, SHARED_TRAIN, uri, parent)
    counts = summary["counts"]
    assert counts["complete"] + counts["pruned"] == 4
    assert counts["fail"] >= 1, "no trial drew the bad cell; change the sampler seed"
    failed = [t for t in _trials(storage, summary["study_name"]) if t.state == TrialState.FAIL]
    assert all(t.params["cell"] == "no_such_cell" for t in failed)
    states = {r.data.tags["optuna.state"]: r for r in child_runs(client, parent)}
    assert states["failed"].info.status == "FAILED"
    assert "cell must be one of" in states["failed"].data.tags["optuna.error"]


def test_a_study_where_every_trial_fails_stops_with_a_clear_error(tmp_path, model_input):
    tune = tune_config(f"sqlite:///{tmp_path / 'optuna.db'}", 5, max_failed_trials=2)
    tune["space"]["cell"] = {"type": "categorical", "choices": ["no_such_cell"]}
    with pytest.raises(RuntimeError, match="no trial completed"):
        run_study(model_input, tune, TASK_PARAMS, SHARED_TRAIN)
    trials = optuna.load_study(study_name=f"seqhealth-vitals_mortality-{model_input['fingerprint']['sha256']}",
                               storage=make_storage(tune["storage"])).get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.FAIL]


def test_timeout_stops_starting_new_trials(tmp_path, model_input):
    tune = tune_config(f"sqlite:///{tmp_path / 'optuna.db'}", 3, timeout_s=1e-9)
    with pytest.raises(RuntimeError, match="no trial completed"):
        run_study(model_input, tune, TASK_PARAMS, SHARED_TRAIN)
    assert _trials(tune["storage"], f"seqhealth-vitals_mortality-{model_input['fingerprint']['sha256']}") == []
