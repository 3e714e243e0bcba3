"""Must show 1: a worse challenger is not promoted, a better one is, and MLflow says why.

Real Lightning training on the demo ICU stays, a real MLflow registry (SQLite in tmp), the
retrain steps called in-process (the `kedro run` wiring is covered by test_retrain_kedro.py).
"Worse" = trained for one epoch on permuted training labels; "better" = three epochs on the
true labels. Every model is scored on the same frozen test patients with their true labels.
"""

from __future__ import annotations

import copy
import os

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from seqhealth.datasets.raw_partitions import RawPartitions
from seqhealth.retraining.retrain import (
    check_data_state,
    compare_on_frozen_set,
    decide_and_record,
    prepare_model_input,
    train_challenger,
)
from seqhealth.tasks.registry import get_task
from tests.helpers.demo import write_demo_vitals
from tests.retraining.helpers import project_parameters

TASK = "vitals_mortality"


@pytest.fixture(scope="module")
def retrain_setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("champion_challenger")
    # mlflow.set_*_uri / set_experiment write MLFLOW_* environment variables, which later
    # `kedro run` subprocesses would inherit: put them back as they were afterwards.
    saved_env = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW")}
    write_demo_vitals(root / "01_raw", seed=0)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment = mlflow.create_experiment("retrain-test", artifact_location=str(root / "mlartifacts"))
    mlflow.set_experiment(experiment_id=experiment)
    params = project_parameters()
    params["retrain"]["task"] = TASK
    params["train"].update(enable_progress_bar=False, checkpoint_dir=str(root / "checkpoints"))
    raw = RawPartitions(TASK, root / "01_raw" / TASK)
    state = check_data_state(raw, None, params["retrain"])
    model_input, frozen, builder_inputs, _quarantine, report = prepare_model_input(raw, state, None, params)
    yield {"params": params, "state": state, "model_input": model_input, "frozen": frozen,
           "builder_inputs": builder_inputs, "report": report, "client": MlflowClient()}  # fmt: skip
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    for key in [k for k in os.environ if k.startswith("MLFLOW")]:
        del os.environ[key]
    os.environ.update(saved_env)


def _retrain_round(setup, epochs: int, permute_labels: bool) -> dict:
    params = copy.deepcopy(setup["params"])
    params[TASK]["train"]["max_epochs"] = epochs
    model_input = setup["model_input"]
    training_input = model_input
    if permute_labels:
        train = model_input["splits"]["train"]
        shuffled = np.random.default_rng(7).permutation([s["y"] for s in train])
        training_input = {**model_input, "splits": {**model_input["splits"],
                          "train": [{**s, "y": y} for s, y in zip(train, shuffled)]}}  # fmt: skip
    challenger, history = train_challenger(training_input, params)
    comparison = compare_on_frozen_set(challenger, history, model_input, setup["builder_inputs"])
    return decide_and_record(challenger, comparison, setup["state"], params)


def _version_tags(client, version: int) -> dict:
    return client.get_model_version(f"seqhealth-{TASK}", str(version)).tags


def test_champion_is_replaced_only_by_a_better_challenger(retrain_setup):
    client = retrain_setup["client"]
    first = _retrain_round(retrain_setup, epochs=1, permute_labels=True)
    assert first["decision"] == "promoted" and "first model" in first["reason"]
    assert first["champion"] is None and first["challenger"]["version"] == 1

    better = _retrain_round(retrain_setup, epochs=3, permute_labels=False)
    assert better["decision"] == "promoted", better["reason"]
    assert better["challenger"]["test"]["auroc"] > better["champion"]["test"]["auroc"] + 0.005
    assert better["reason"].startswith("challenger promoted: auroc")
    assert str(client.get_model_version_by_alias(f"seqhealth-{TASK}", "champion").version) == "2"

    worse = _retrain_round(retrain_setup, epochs=1, permute_labels=True)
    assert worse["decision"] == "kept", worse["reason"]
    assert worse["reason"].startswith("champion kept: primary auroc")
    # The champion is the registry's version 2, re-scored on the same frozen patients: the same
    # numbers it had as the challenger of the previous round.
    assert worse["champion"]["version"] == 2
    assert worse["champion"]["test"]["auroc"] == pytest.approx(better["challenger"]["test"]["auroc"], abs=1e-9)
    assert worse["champion"]["test"]["n"] == better["challenger"]["test"]["n"] == retrain_setup["report"]["n_test"]
    registry = f"seqhealth-{TASK}"
    assert str(client.get_model_version_by_alias(registry, "champion").version) == "2"
    assert str(client.get_model_version_by_alias(registry, "challenger").version) == "3"

    # Why, in MLflow: tags on the model versions and on the runs.
    for decision, version in ((better, 2), (worse, 3)):
        tags = _version_tags(client, version)
        run_tags = client.get_run(decision["challenger"]["run_id"]).data.tags
        for where in (tags, run_tags):
            assert where["seqhealth.retrain.decision"] == decision["decision"]
            assert where["seqhealth.retrain.reason"] == decision["reason"]
            assert float(where["seqhealth.retrain.champion.auroc"]) == pytest.approx(decision["champion"]["test"]["auroc"], abs=1e-5)
            assert float(where["seqhealth.retrain.challenger.auroc"]) == pytest.approx(decision["challenger"]["test"]["auroc"], abs=1e-5)
            assert where["seqhealth.retrain.data_fingerprint"] == retrain_setup["state"]["fingerprint"]
    # Patient ids stay local: none in the run's params/tags.
    run = client.get_run(worse["challenger"]["run_id"]).data
    logged = " ".join([*run.params.values(), *run.tags.values()])
    assert not any(patient in logged for patient in retrain_setup["frozen"]["groups"])


def test_champion_samples_are_re_encoded_with_its_own_normalisation(retrain_setup):
    """Re-encoding with the model input's own statistics gives back exactly its samples, and a
    champion's different statistics give different inputs for the same patients and labels."""
    model_input, builder_inputs = retrain_setup["model_input"], retrain_setup["builder_inputs"]
    spec = get_task(TASK)
    same = spec.eval_samples_for(model_input, builder_inputs, model_input["preprocessing"])
    for split in ("val", "test"):
        assert len(same[split]) == len(model_input["splits"][split])
        for mine, theirs in zip(same[split], model_input["splits"][split]):
            np.testing.assert_array_equal(mine["x"], theirs["x"])
            assert mine["y"] == theirs["y"]
    other = copy.deepcopy(model_input["preprocessing"])
    other["normalisation"]["mean"] = (np.asarray(other["normalisation"]["mean"]) + 1.0).tolist()
    shifted = spec.eval_samples_for(model_input, builder_inputs, other)
    assert not np.array_equal(shifted["test"][0]["x"], model_input["splits"]["test"][0]["x"])
    assert [s["y"] for s in shifted["test"]] == [s["y"] for s in model_input["splits"]["test"]]


def test_frozen_groups_are_the_test_patients(retrain_setup):
    frozen, model_input = retrain_setup["frozen"], retrain_setup["model_input"]
    assert frozen["unit"] == "patient" and frozen["missing_now"] == []
    assert sorted(frozen["groups"]) == sorted(model_input["patients"]["test"])
