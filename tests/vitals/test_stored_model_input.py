"""Issue 21, point 3: the vitals_sepsis / vitals_forecast / vitals_mortality model input built
partition by partition from the prepared layer straight into per-split Arrow stores gives the in-memory builder's samples
(same order), fingerprint, normalisation and class weight (sepsis labels for the forecast), and the
same test metrics after training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from seqhealth.batching.arrow_store import open_split
from seqhealth.engine.fit import resolve_train_config, train_model
from seqhealth.engine.gate import gate_counts
from seqhealth.tasks.vitals_forecast import TASK as FORECAST
from seqhealth.tasks.vitals_mortality import TASK as MORTALITY
from seqhealth.tasks.vitals_sepsis import TASK as SEPSIS
from seqhealth.vitals.features import fit_normalisation
from seqhealth.vitals.partitions import StayFolder, prepare_2012, prepare_2019
from seqhealth.vitals.streamed_input import ObservedMoments

ROOT = Path(__file__).resolve().parents[2]
PARAMS = {"split": {"train": 0.7, "val": 0.15, "test": 0.15}, "seed": 42}


def _assert_same_model_input(stored: dict, memory: dict) -> None:
    for key in memory:
        if key == "sepsis_labels":  # per-stay arrays
            assert {p: [a.tolist() for a in v] for p, v in stored[key].items()} == \
                   {p: [a.tolist() for a in v] for p, v in memory[key].items()}
        elif key != "splits":
            assert stored[key] == memory[key], key
    for name in ("train", "val", "test"):
        assert isinstance(stored["splits"][name], str)
        store = open_split(stored["splits"][name])
        assert len(store) == len(memory["splits"][name]) and len(store) > 0
        np.testing.assert_array_equal(store.lengths, [s["length"] for s in memory["splits"][name]])
        for item, sample in zip(store, memory["splits"][name], strict=True):
            np.testing.assert_array_equal(item["x"].numpy(), sample["x"])
            np.testing.assert_array_equal(item["y"].numpy(), sample["y"])


def test_moments_give_fit_normalisation():
    rng = np.random.default_rng(0)
    sequences = {}
    for p in range(7):
        values = rng.normal(80, 15, size=(int(rng.integers(3, 30)), 4)).astype(np.float32)
        values[rng.random(values.shape) < 0.4] = np.nan
        values[:, 3] = np.nan if p % 2 else 7.0  # never observed by some patients, constant in the others
        sequences[str(p)] = {"values": values, "variables": ["a", "b", "c", "d"]}
    moments = ObservedMoments(["a", "b", "c", "d"])
    for seq in sequences.values():
        moments.add(seq["values"])
    expected, got = fit_normalisation(sequences, list(sequences)), moments.stats()
    assert got["variables"] == expected["variables"] and got["n_patients"] == expected["n_patients"] == 7
    np.testing.assert_allclose(got["mean"], expected["mean"], rtol=1e-6)
    np.testing.assert_allclose(got["std"], expected["std"], rtol=1e-6)
    assert got["std"][3] == 1.0


@pytest.mark.parametrize(("task", "normalisation"), [(SEPSIS, "zscore"), (FORECAST, "zscore"), (SEPSIS, "quantile")],
                         ids=["vitals_sepsis", "vitals_forecast", "vitals_sepsis-quantile"])
def test_demo_stays_stored_partition_by_partition_equal_the_in_memory_input(task, normalisation, tmp_path):
    task.write_demo(tmp_path / "raw")
    prepared = prepare_2019(StayFolder(tmp_path / "raw", tmp_path / "prepared", patients_per_partition=10))
    assert len(prepared.recomputed) > 2  # several partitions, patients interleaved across them
    memory = task.build_model_input(prepared.observations, prepared.labels, {**PARAMS, "normalisation": normalisation})
    assert ("quantiles" in memory["preprocessing"]["normalisation"]) == (normalisation == "quantile")
    params = {**PARAMS, "normalisation": normalisation, "model_input_store": "arrow", "prepared_cache": str(tmp_path / "prepared"),
              "store_dir": str(tmp_path / "store")}  # fmt: skip
    # Through the pipeline's builder: the option routes it to the prepared partitions.
    stored = task.build_model_input(prepared.observations, prepared.labels, params)
    _assert_same_model_input(stored, memory)
    assert gate_counts(stored) == gate_counts(memory)
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["test.arrow", "train.arrow", "val.arrow"]
    with pytest.raises(ValueError, match="prepared_cache"):
        task.build_model_input(prepared.observations, prepared.labels, {**PARAMS, "model_input_store": "arrow"})


@pytest.mark.shared_data
@pytest.mark.parametrize("task", [SEPSIS, FORECAST], ids=lambda t: t.name)
def test_shared_2019_sample_stored_gives_the_same_samples_and_test_metrics(task, sepsis_2019_dir, tmp_path):
    prepared = prepare_2019(StayFolder(sepsis_2019_dir, tmp_path / "prepared", patients_per_partition=100))
    conf = yaml.safe_load((ROOT / f"conf/base/parameters_{task.name}.yml").read_text())[task.name]
    shared = yaml.safe_load((ROOT / "conf/base/parameters_train.yml").read_text())["train"]
    memory = task.build_model_input(prepared.observations, prepared.labels, conf["samples"])
    stored = task.build_stored_model_input(tmp_path / "prepared", conf["samples"], store_dir=tmp_path / "store")
    _assert_same_model_input(stored, memory)
    metrics = {}
    for name, model_input in (("memory", memory), ("stored", stored)):
        train_cfg = resolve_train_config(shared, {**conf["train"], "max_epochs": 2, "enable_progress_bar": False,
                                                  "accelerator": "cpu", "checkpoint_dir": str(tmp_path / name)})  # fmt: skip
        train_cfg["gate"] = task.training_gate(train_cfg.get("gate"))
        bundle, history = train_model(model_input, conf["model"], train_cfg)
        bundle = task.calibrate(bundle, model_input)  # validation outputs read from the val store
        metrics[name], predictions, _figures = task.evaluate(bundle, model_input, history)
        metrics[name]["predictions"] = predictions
    predictions = metrics["stored"].pop("predictions")
    assert predictions.equals(metrics["memory"].pop("predictions"))
    # Every test metric, the calibration, alert and subgroup reports (as text: a NaN of a one-class
    # subgroup equals itself there).
    assert json.dumps(metrics["stored"], sort_keys=True, default=str) == json.dumps(metrics["memory"], sort_keys=True, default=str)
    assert metrics["stored"]["n_test"] == len(memory["splits"]["test"])
    assert np.isfinite(metrics["stored"]["test"][task.headline_metrics[0]])


def test_mortality_stays_stored_partition_by_partition_equal_the_in_memory_input(tmp_path):
    MORTALITY.write_demo(tmp_path / "raw")
    prepared = prepare_2012(StayFolder(tmp_path / "raw", tmp_path / "prepared", 10, format="physionet2012"))
    assert len(prepared.recomputed) > 2
    conf = yaml.safe_load((ROOT / "conf/base/parameters_vitals_mortality.yml").read_text())["vitals_mortality"]
    memory = MORTALITY.build_model_input(prepared.observations, prepared.labels, conf["samples"])
    params = {**conf["samples"], "model_input_store": "arrow", "prepared_cache": str(tmp_path / "prepared"),
              "store_dir": str(tmp_path / "store")}  # fmt: skip
    stored = MORTALITY.build_model_input(prepared.observations, prepared.labels, params)
    _assert_same_model_input(stored, memory)
    assert gate_counts(stored) == gate_counts(memory)
    # The stored input trains, is calibrated and evaluated like the in-memory one.
    shared = yaml.safe_load((ROOT / "conf/base/parameters_train.yml").read_text())["train"]
    metrics = {}
    for name, model_input in (("memory", memory), ("stored", stored)):
        train_cfg = resolve_train_config(shared, {**conf["train"], "max_epochs": 1, "enable_progress_bar": False,
                                                  "accelerator": "cpu", "checkpoint_dir": str(tmp_path / name)})  # fmt: skip
        bundle, history = train_model(model_input, conf["model"], train_cfg)
        bundle = MORTALITY.calibrate(bundle, model_input)
        metrics[name], _predictions, _figures = MORTALITY.evaluate(bundle, model_input, history)
    assert metrics["stored"]["test"] == metrics["memory"]["test"]
    # Champion re-scoring (retraining) reads the stored splits too.
    rescored = MORTALITY.eval_samples_for(stored, (prepared.observations, prepared.labels), bundle["preprocessing"])
    assert [len(rescored[p]) for p in ("val", "test")] == [len(memory["splits"][p]) for p in ("val", "test")]


def test_a_cache_of_other_stays_is_refused(tmp_path):
    """A cache left by another input (here: other stays) is not trained on in place of this run's."""
    SEPSIS.write_demo(tmp_path / "raw")
    prepared = prepare_2019(StayFolder(tmp_path / "raw", tmp_path / "prepared", patients_per_partition=10))
    others = prepared.labels.assign(patient_id="other-" + prepared.labels["patient_id"].astype(str))
    params = {**PARAMS, "model_input_store": "arrow", "prepared_cache": str(tmp_path / "prepared"),
              "store_dir": str(tmp_path / "store")}  # fmt: skip
    with pytest.raises(ValueError, match="not in this run's validated input"):
        SEPSIS.build_model_input(prepared.observations, others, params)
