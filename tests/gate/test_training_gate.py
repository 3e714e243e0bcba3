"""The training gate (engine/gate.py) on the data issue 15's probe fed in, through the real code
paths: the pipeline's training node, retraining's and tuning's entry points, the registry.

Each case is built from a task's own demo data by the task's own reader, validation and model
input builder; only the data is made hostile (one outcome, no CDS, a tiny cohort, ...).
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from seqhealth.engine.fit import fit_sequence_model
from seqhealth.engine.gate import (
    TrainingGateError,
    check_ingested,
    check_training_gate,
    gate_counts,
)
from seqhealth.pipelines.training_nodes import train_sequence_model
from seqhealth.retraining.retrain import train_challenger
from seqhealth.tasks.registry import get_task
from seqhealth.tracking.registry import CHALLENGER, CHAMPION, log_and_register, model_name
from tests.helpers.tasks import small_model_input
from tests.retraining.helpers import project_parameters

PARAMS = project_parameters()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gate_demo")
    for name in ("vitals_mortality", "vitals_sepsis", "vitals_forecast", "dna_coding", "dna_classify"):
        get_task(name).write_demo(root / name, seed=0)
    return root


_INGESTED: dict = {}


def _ingested(demo: Path, name: str):
    """The task's validated demo data (read and validated once per module: the slow part)."""
    task = get_task(name)
    if (demo, name) not in _INGESTED:
        out = task.ingest(task.read_raw(demo / name), PARAMS[name])
        _INGESTED[demo, name] = [out[n] for n in task.builder_inputs]
    return task, list(_INGESTED[demo, name])


def _first(frame, n: int, column: str = "patient_id"):
    keep = sorted(frame[column].astype(str).unique())[:n]
    return frame[frame[column].astype(str).isin(keep)]


# name, mutation of the builder inputs, what the message must say
CASES = {
    "all survive": ("vitals_mortality", lambda obs, lab: (obs, lab.assign(label=0)),
                    ["positive: 0 patients", "train: 0 patients of class 'positive', needs at least 1"]),
    "all die": ("vitals_mortality", lambda obs, lab: (obs, lab.assign(label=1)),
                ["negative: 0 patients", "val: 1 classes present, needs at least 2"]),
    "no septic hour": ("vitals_sepsis", lambda obs, lab: (obs, lab.assign(label=0)),
                       ["positive: 0 hours", "test: 0 hours of class 'positive'"]),
    "cohort of 4": ("vitals_mortality", lambda obs, lab: (_first(obs, 4), _first(lab, 4)), ["needs at least"]),
    "forecast cohort of 3": ("vitals_forecast", lambda obs, lab: (_first(obs, 3), _first(lab, 3)),
                             ["needs at least"]),
    "genome without CDS": ("dna_coding", lambda rec: (rec.assign(cds_parts=[[] for _ in range(len(rec))]),),
                           ["coding: 0 bases", "train: 0 bases of class 'coding', needs at least 100"]),
    "one short locus": ("dna_coding", lambda rec: (rec.head(1).assign(
        tokens=[rec["tokens"].iloc[0][:300]], length=[300],
        cds_parts=[[p for p in rec["cds_parts"].iloc[0] if all(e <= 300 for _, e, _ in p)]]),),
        ["val: 0 samples, needs at least 1", "test: 0 samples, needs at least 1"]),
    "3 sequences": ("dna_classify", lambda rec: (rec.head(3),), ["val: 0 samples, needs at least 1"]),
    "every label unique": ("dna_classify", lambda rec: (rec.head(12).assign(label=[f"L{i}" for i in range(12)]),),
                           ["val: 0 samples"]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_node_refuses_data_that_cannot_support_a_model(demo, tmp_path, case):
    name, mutate, expected = CASES[case]
    task, inputs = _ingested(demo, name)
    model_input = task.build_model_input(*mutate(*inputs), PARAMS[name][task.params_key])
    train = {**PARAMS["train"], "checkpoint_dir": str(tmp_path / "ckpt"), "max_epochs": 1}
    with pytest.raises(TrainingGateError) as caught:
        train_sequence_model(model_input, PARAMS[name]["model"], train, PARAMS[name].get("train"))
    message = str(caught.value)
    assert message.startswith(f"{name}: the data cannot support a model, nothing was trained")
    for fragment in expected:
        assert fragment in message, message
    assert not (tmp_path / "ckpt").exists()  # stopped before any checkpoint folder


def test_default_demo_data_passes_every_task_gate(demo):
    for name in ("vitals_mortality", "vitals_sepsis", "vitals_forecast", "dna_coding", "dna_classify"):
        task, inputs = _ingested(demo, name)
        model_input = task.build_model_input(*inputs, PARAMS[name][task.params_key])
        counts = check_training_gate(model_input, task.training_gate((PARAMS[name].get("train") or {}).get("gate")))
        assert all(counts[s]["samples"] > 0 for s in ("train", "val", "test"))


def test_gate_minimums_are_configurable_per_task(demo):
    task, (records,) = _ingested(demo, "dna_coding")
    model_input = task.build_model_input(records, PARAMS["dna_coding"][task.params_key])
    fewest = gate_counts(model_input)["train"]["classes"]["non-coding"]  # the minority class
    with pytest.raises(TrainingGateError, match=f"{fewest} bases of class 'non-coding', needs at least {fewest + 1}"):
        check_training_gate(model_input, task.training_gate({"min_per_class": {"train": fewest + 1}}))
    check_training_gate(model_input, task.training_gate({"min_per_class": {"train": fewest}}))


def test_every_record_quarantined_is_a_clear_stop(demo):
    task = get_task("vitals_mortality")
    raw = task.read_raw(demo / "vitals_mortality")
    observations = raw["raw_stays"]["observations"]
    # Every heart rate / measurement implausible: nothing survives validation.
    raw["raw_stays"]["observations"] = observations.assign(value="-999")
    ingested = task.ingest(raw, PARAMS["vitals_mortality"])
    assert len(ingested["quarantine"]) > 0
    with pytest.raises(TrainingGateError, match=r"vitals_mortality: no record passed validation \(\d+ quarantined, 0 kept; reasons: "):
        check_ingested(task.name, ingested, task.builder_inputs)


def test_retraining_obeys_the_same_gate(demo, tmp_path):
    task, (obs, lab) = _ingested(demo, "vitals_mortality")
    model_input = task.build_model_input(obs, lab.assign(label=0), PARAMS["vitals_mortality"][task.params_key])
    parameters = {**PARAMS, "train": {**PARAMS["train"], "checkpoint_dir": str(tmp_path / "ckpt")}}
    with pytest.raises(TrainingGateError, match="positive: 0 patients"):
        train_challenger(model_input, parameters)


def test_tuning_obeys_the_same_gate_before_any_trial(demo, tmp_path):
    from seqhealth.pipelines.tune.nodes import tune_hyperparameters

    task, (obs, lab) = _ingested(demo, "vitals_mortality")
    model_input = task.build_model_input(obs, lab.assign(label=1), PARAMS["vitals_mortality"][task.params_key])
    storage = tmp_path / "optuna.db"
    parameters = {**PARAMS, "tune": {**PARAMS["tune"], "task": "vitals_mortality", "storage": f"sqlite:///{storage}"}}
    with pytest.raises(TrainingGateError, match="negative: 0 patients"):
        tune_hyperparameters(model_input, parameters)
    assert not storage.exists()  # no study, no trial


# ------------------------------------------------------------------ the registry's own check
@pytest.fixture(scope="module")
def classify_bundle(demo, tmp_path_factory) -> dict:
    task = get_task("dna_classify")
    model_input, _ = small_model_input(task, demo)
    train = {"max_epochs": 1, "batch_size": 16, "seed": 0, "accelerator": "cpu", "devices": 1, "enable_progress_bar": False,
             "checkpoint_dir": str(tmp_path_factory.mktemp("ckpt")), "monitor": "val_loss", "monitor_mode": "min"}  # fmt: skip
    model = {"cell": "gru", "hidden_size": 8, "num_layers": 1, "dropout": 0.0, "lr": 0.01}
    return fit_sequence_model(model_input, model, train)[0]


@pytest.fixture
def store(tmp_path, monkeypatch) -> MlflowClient:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("gate")
    yield MlflowClient()
    while mlflow.active_run():
        mlflow.end_run()


def _registry_state(client: MlflowClient, name: str):
    models = {m.name for m in client.search_registered_models()}
    if name not in models:
        return None
    versions = sorted((v.version, v.run_id) for v in client.search_model_versions(f"name='{name}'"))
    return versions, dict(client.get_registered_model(name).aliases)


BAD_METRICS = {
    "auroc None (one-class test split)": {"test": {"accuracy": 0.9, "macro_f1": None}},
    "NaN": {"test": {"accuracy": float("nan"), "macro_f1": 0.5}},
    "no test metrics": {"baseline": {"accuracy": 0.5}},
    "no metrics at all": None,
}


@pytest.mark.parametrize("case", sorted(BAD_METRICS))
def test_no_registration_without_finite_test_metrics(classify_bundle, store, case):
    name = model_name("dna_classify")
    # A fresh store: the refused model must not become the first champion.
    with pytest.raises(TrainingGateError, match="not registered|registered only with finite"):
        log_and_register(classify_bundle, BAD_METRICS[case], "dna_classify")
    assert _registry_state(store, name) is None
    assert store.search_runs([e.experiment_id for e in store.search_experiments()]) == []
    # With a champion: the registry is unchanged and no alias moves.
    good = log_and_register(classify_bundle, {"test": {"accuracy": 0.7, "macro_f1": 0.6}}, "dna_classify")
    before = _registry_state(store, name)
    runs = len(store.search_runs([e.experiment_id for e in store.search_experiments()]))
    assert before[1] == {CHAMPION: good["version"], CHALLENGER: good["version"]}
    with pytest.raises(TrainingGateError):
        log_and_register(classify_bundle, BAD_METRICS[case], "dna_classify")
    assert _registry_state(store, name) == before
    assert len(store.search_runs([e.experiment_id for e in store.search_experiments()])) == runs


def test_every_genome_record_quarantined_stops_in_the_pipeline_before_training(demo):
    """Issue 15: all-quarantined dna_coding input crashed with FileNotFoundError ... COMPLETED."""
    from seqhealth.pipelines.task_pipeline import _build_function

    task = get_task("dna_coding")
    raw = task.read_raw(demo / "dna_coding")
    records = raw["raw_records"]
    sequence = next(c for c in ("sequence", "seq") if c in records.columns)
    raw["raw_records"] = records.assign(**{sequence: "7" + records[sequence].astype(str)})  # invalid first base
    ingested = task.ingest(raw, PARAMS["dna_coding"])
    assert len(ingested["records"]) == 0 and len(ingested["quarantine"]) == len(records)
    build = _build_function(task)
    with pytest.raises(TrainingGateError, match=r"dna_coding: no record passed validation .*quarantine\.csv"):
        build(ingested["records"], PARAMS["dna_coding"][task.params_key])


def test_a_monitor_the_model_does_not_log_is_refused_before_training(demo, tmp_path):
    """A monitor the model never logs (e.g. a typo) used to
    fail inside Lightning's callback; two-class models now log val_macro_f1 like multiclass ones."""
    task, (records,) = _ingested(demo, "dna_classify")
    two = records[records["label"].isin(sorted(records["label"].unique())[:2])]
    model_input = task.build_model_input(two, PARAMS["dna_classify"][task.params_key])
    train = {**PARAMS["train"], **PARAMS["dna_classify"]["train"], "checkpoint_dir": str(tmp_path / "ckpt"),
             "_resume_from": None, "monitor": "val_macro_f2"}  # fmt: skip
    with pytest.raises(ValueError, match=r"train.monitor 'val_macro_f2' is not a metric this model logs .*val_macro_f1"):
        fit_sequence_model(model_input, PARAMS["dna_classify"]["model"], train)
