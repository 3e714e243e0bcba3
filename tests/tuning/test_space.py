"""Search space, spec and naming: pure functions over configuration (no training)."""

from __future__ import annotations

import optuna
import pytest

from seqhealth.tuning.coordinator import build_spec, run_study
from seqhealth.tuning.space import make_pruner, split_params, suggest_params, task_space
from seqhealth.tuning.study import public_url, study_name_for

from .conftest import SHARED_TRAIN, TASK_PARAMS, make_model_input, tune_config


def test_causal_task_never_gets_a_bidirectional_cell():
    space = tune_config("sqlite://", 1)["space"]
    assert "bidirectional" in task_space(space, causal=False)
    assert "bidirectional" not in task_space(space, causal=True)
    model_params, _ = split_params({"cell": "gru", "bidirectional": True}, causal=True)
    assert model_params["bidirectional"] is False


def test_spec_of_a_causal_task_has_no_bidirectional_and_follows_the_monitor():
    sepsis = make_model_input(task="vitals_sepsis", causal=True)
    params = {**TASK_PARAMS, "train": {"monitor": "val_loss", "monitor_mode": "min"}}
    spec = build_spec(sepsis, tune_config("sqlite://", 4), params, SHARED_TRAIN)
    assert "bidirectional" not in spec["space"]
    assert spec["direction"] == "minimize" and spec["monitor"] == "val_loss"
    assert spec["trial_train"]["max_epochs"] == 3 and spec["trial_train"]["early_stopping_patience"] == 0


def test_suggestions_stay_in_the_space_and_split_into_model_and_training():
    space = task_space(tune_config("sqlite://", 1)["space"], causal=False)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(20):
        params = suggest_params(study.ask(), space)
        assert params["cell"] in ("lstm", "gru")
        assert space["lr"]["low"] <= params["lr"] <= space["lr"]["high"]
        assert params["hidden_size"] in (4, 8, 12, 16)
        model_params, train = split_params(params)
        assert set(train) == {"gradient_clip_val", "batch_size"}
        assert "lr" in model_params and "batch_size" not in model_params


@pytest.mark.parametrize(
    "entry, message",
    [({"type": "normal", "low": 0, "high": 1}, "'type' must be one of"),
     ({"type": "float", "low": 0, "high": 1, "scale": 2}, "unknown keys ['scale']"),
     ({"type": "categorical", "choices": []}, "non-empty 'choices'")],
)
def test_bad_space_entries_are_named(entry, message):
    with pytest.raises(ValueError, match=r"tune\.space\.dropout") as err:
        task_space({"dropout": entry}, causal=False)
    assert message in str(err.value)


def test_pruners():
    assert isinstance(make_pruner({"type": "hyperband"}), optuna.pruners.HyperbandPruner)
    assert isinstance(make_pruner(None), optuna.pruners.MedianPruner)
    with pytest.raises(ValueError, match="median' or 'hyperband"):
        make_pruner({"type": "asha"})


def test_study_name_and_masked_storage():
    assert study_name_for("vitals_sepsis", "abc123") == "seqhealth-vitals_sepsis-abc123"
    masked = public_url("postgresql+psycopg2://tuner:s3cret@db:5432/optuna")
    assert "s3cret" not in masked and "tuner" in masked


def test_wrong_task_or_storage_is_refused(tmp_path):
    data = make_model_input()
    with pytest.raises(ValueError, match="tune.task must be one of"):
        run_study(data, tune_config(f"sqlite:///{tmp_path}/o.db", 1, task="mortality"), TASK_PARAMS, SHARED_TRAIN)
    with pytest.raises(ValueError, match="model input is for task 'vitals_mortality'"):
        run_study(data, tune_config(f"sqlite:///{tmp_path}/o.db", 1, task="vitals_sepsis"), TASK_PARAMS, SHARED_TRAIN)
    with pytest.raises(ValueError, match="must be an RDB URL"):
        run_study(data, tune_config(str(tmp_path / "o.db"), 1, task="vitals_mortality"), TASK_PARAMS, SHARED_TRAIN)


def test_workers_pin_one_gpu_each_and_share_the_cores(monkeypatch):
    from seqhealth.tuning.worker import device_env, threads_per_worker

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert [device_env(rank, 2) for rank in range(3)] == [{"CUDA_VISIBLE_DEVICES": "0"}, {"CUDA_VISIBLE_DEVICES": "1"},
                                                         {"CUDA_VISIBLE_DEVICES": "0"}]
    assert device_env(1, 1) == {} and device_env(1, 0) == {}
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")  # round robin over the GPUs we were given
    assert device_env(1, 2) == {"CUDA_VISIBLE_DEVICES": "6"}
    cores = len(__import__("os").sched_getaffinity(0))
    for n_workers in (1, 2, 3, 64):
        assert threads_per_worker(n_workers) >= 1
        assert n_workers * threads_per_worker(n_workers) <= max(cores, n_workers)
