"""Parallel workers on one study draw different configurations (each sampler has its own seed)."""

from __future__ import annotations

import json

import pytest
from optuna.trial import TrialState

from seqhealth.tuning.coordinator import prepare_study, run_study
from seqhealth.tuning.space import suggest_params
from seqhealth.tuning.study import open_study, worker_seed
from seqhealth.tuning.worker import log_progress

from .conftest import SHARED_TRAIN, TASK_PARAMS, tune_config


def _key(params: dict) -> str:
    return json.dumps(params, sort_keys=True)


@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")  # ask/tell instead of optimize
def test_two_workers_asking_one_study_draw_distinct_start_up_trials(tmp_path, model_input):
    """Two workers' own study handles, interleaved like two processes: trials 0/1 and 2/3 used to
    be identical pairs (one seed for every worker's random start-up draws)."""
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    tune = tune_config(storage, 4)
    spec_study = prepare_study(model_input, tune, TASK_PARAMS, SHARED_TRAIN)
    space = spec_study.user_attrs["spec"]["space"]
    handles = [open_study(storage, spec_study.study_name, worker=rank) for rank in (0, 1)]
    drawn = []
    for _ in range(2):  # start-up (random) phase: n_startup_trials = 3 in parameters_tune.yml
        for handle in handles:
            trial = handle.ask()
            drawn.append(suggest_params(trial, space))
            handle.tell(trial, 0.5)
    trials = spec_study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    assert [t.params for t in trials] == drawn
    assert len({_key(p) for p in drawn}) == 4, drawn
    # the progress line a worker logs after each trial
    line = log_progress(spec_study, spec_study.get_trials()[-1], 5, "w1", 12.3)
    assert line == "tuning 4/5 finished | trial 3 complete max value 0.5000 | best 0.5000 (trial 0) | worker w1 | 12 s"


def test_worker_seeds_keep_one_worker_reproducible_and_separate_the_others():
    assert worker_seed(42, None) == worker_seed(42, 0) == 42
    assert len({worker_seed(42, rank) for rank in range(8)}) == 8
    assert worker_seed(42, "node-a:101") == worker_seed(42, "node-a:101") != worker_seed(42, "node-b:101")


@pytest.mark.slow
def test_two_worker_processes_train_distinct_configurations(tmp_path, model_input):
    """The tune pipeline's path with ``n_workers=2``: two `seqhealth.tuning.worker` processes."""
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    tune = tune_config(storage, 4, n_workers=2)
    summary = run_study(model_input, tune, TASK_PARAMS, SHARED_TRAIN)
    assert summary["worker_exit_codes"] == [0, 0]
    study = open_study(storage, summary["study_name"])
    finished = [t for t in study.get_trials() if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 4
    assert len({t.user_attrs["worker"] for t in finished}) == 2, "one worker ran every trial"
    assert len({_key(t.params) for t in finished}) == len(finished), [t.params for t in finished]
