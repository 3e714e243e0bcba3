"""``vitals_sepsis.samples.train_label_lead_hours``: the TRAINING target of septic stays starts
earlier; validation and test keep the original labels (calibration, the training monitor, the
alert threshold and every metric read them), and the prevalence baseline stays the labels'."""

from __future__ import annotations

import numpy as np
import pytest

from seqhealth.batching.arrow_store import open_split
from seqhealth.tasks.vitals_sepsis import TASK, lead_labels
from seqhealth.vitals.partitions import StayFolder, prepare_2019

PARAMS = {"split": {"train": 0.7, "val": 0.15, "test": 0.15}, "seed": 42}


def test_lead_labels_moves_the_first_positive_hour_earlier():
    y = np.asarray([0, 0, 0, 0, 1, 1], dtype=np.float32)
    np.testing.assert_array_equal(lead_labels(y, 2), [0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(lead_labels(y, 10), [1, 1, 1, 1, 1, 1])  # clipped at admission
    np.testing.assert_array_equal(y, [0, 0, 0, 0, 1, 1])  # the labels themselves are not changed
    assert lead_labels(y, 0) is y
    negative = np.zeros(5, dtype=np.float32)
    np.testing.assert_array_equal(lead_labels(negative, 6), negative)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lead")
    TASK.write_demo(tmp / "raw")
    return tmp, prepare_2019(StayFolder(tmp / "raw", tmp / "prepared", patients_per_partition=10))


def _labels(split) -> list[np.ndarray]:
    return [np.asarray(s["y"]).copy() for s in open_split(split)]


def test_only_training_targets_lead_and_the_baseline_keeps_the_labels(prepared):
    _tmp, data = prepared
    plain = TASK.build_model_input(data.observations, data.labels, PARAMS)
    led = TASK.build_model_input(
        data.observations, data.labels, {**PARAMS, "train_label_lead_hours": 6}
    )
    assert "train_label_prevalence" not in plain and led["train_label_lead_hours"] == 6
    for name in ("val", "test"):  # bit for bit the original labels and inputs
        for a, b in zip(plain["splits"][name], led["splits"][name], strict=True):
            np.testing.assert_array_equal(a["y"], b["y"])
            np.testing.assert_array_equal(a["x"], b["x"])
    train_plain, train_led = _labels(plain["splits"]["train"]), _labels(led["splits"]["train"])
    assert any(y.max() > 0 for y in train_plain)
    for y, target in zip(train_plain, train_led, strict=True):
        np.testing.assert_array_equal(target, lead_labels(y, 6))
    assert sum(t.sum() for t in train_led) > sum(y.sum() for y in train_plain)
    original = float(np.concatenate(train_plain).mean())
    assert led["train_label_prevalence"] == pytest.approx(original)
    assert led["pos_weight"] < plain["pos_weight"]  # weighted by the target's own odds


def test_stored_builder_gives_the_same_led_targets(prepared):
    tmp, data = prepared
    params = {**PARAMS, "train_label_lead_hours": 6}
    memory = TASK.build_model_input(data.observations, data.labels, params)
    stored = TASK.build_model_input(data.observations, data.labels,
                                    {**params, "model_input_store": "arrow", "prepared_cache": str(tmp / "prepared"),
                                     "store_dir": str(tmp / "store")})  # fmt: skip
    assert stored["train_label_prevalence"] == pytest.approx(memory["train_label_prevalence"])
    assert stored["pos_weight"] == pytest.approx(memory["pos_weight"])
    for name in ("train", "val", "test"):
        for a, b in zip(
            _labels(stored["splits"][name]), _labels(memory["splits"][name]), strict=True
        ):
            np.testing.assert_array_equal(a, b)


def test_negative_lead_is_refused(prepared):
    _tmp, data = prepared
    with pytest.raises(ValueError, match="train_label_lead_hours"):
        TASK.build_model_input(
            data.observations, data.labels, {**PARAMS, "train_label_lead_hours": -1}
        )
