"""Features (finite, causal fill, train-only normalisation) and the demo generator."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict

from seqhealth.datasets.physionet import PhysioNet2012Dataset, PhysioNet2019Dataset
from seqhealth.vitals.features import (
    CHANNELS,
    apply_features,
    build_patient_sequences,
    feature_names,
    fit_normalisation,
)
from seqhealth.vitals.schema import PSV_COLUMNS
from seqhealth.vitals.validation import validate_2012, validate_2019
from tests.helpers.demo import write_demo_vitals


def _long(rows):
    return pd.DataFrame(rows, columns=["patient_id", "time_h", "variable", "value"])


def test_sequences_use_the_union_of_observed_times_and_features_fill_causally():
    clean = _long([("a", 0.0, "HR", 80.0), ("a", 1.5, "Temp", 37.0), ("a", 3.0, "HR", 100.0),
                   ("b", 0.5, "HR", 90.0), ("a", 60.0, "HR", 200.0)])  # fmt: skip
    sequences = build_patient_sequences(clean, ["HR", "Temp", "Lactate"], max_hours=48)
    a = sequences["a"]
    np.testing.assert_array_equal(a["times"], [0.0, 1.5, 3.0])  # 60 h truncated, no resampling
    assert np.isnan(a["values"][1, 0]) and a["values"][2, 0] == 100.0
    stats = fit_normalisation(sequences, ["a", "b"])
    assert stats["mean"][2] == 0 and stats["std"][2] == 1  # Lactate never observed
    features = apply_features(a, stats)
    assert features.shape == (3, 3 * 3 + 1) and np.isfinite(features).all()
    hr = (np.array([80.0, 80.0, 100.0]) - stats["mean"][0]) / stats["std"][0]
    np.testing.assert_allclose(features[:, 0], hr, rtol=1e-6)  # carried forward at t=1.5
    assert features[0, 1] == 0  # Temp before its first observation -> 0 (training mean)
    np.testing.assert_array_equal(features[:, 3:6], [[1, 0, 0], [0, 1, 0], [1, 0, 0]])
    np.testing.assert_allclose(features[1, 6], np.log1p(1.5), rtol=1e-6)  # HR last seen 1.5 h ago
    np.testing.assert_allclose(features[:, 9], np.log1p([0, 1.5, 1.5]), rtol=1e-6)


def test_step_hours_bins_to_the_end_of_each_bin_and_averages_repeats():
    clean = _long([("a", 0.0, "Age", 70.0), ("a", 0.2, "HR", 80.0), ("a", 0.7, "HR", 100.0),
                   ("a", 1.0, "Temp", 37.0), ("a", 1.01, "HR", 60.0), ("a", 47.5, "HR", 90.0),
                   ("a", 48.5, "HR", 10.0)])  # fmt: skip
    a = build_patient_sequences(clean, ["HR", "Temp", "Age"], max_hours=48, step_hours=1)["a"]
    # 0 stays 0 (descriptors), (0, 1] -> 1, (1, 2] -> 2, 47.5 -> 48; 48.5 is past max_hours.
    np.testing.assert_array_equal(a["times"], [0.0, 1.0, 2.0, 48.0])
    np.testing.assert_allclose(a["values"][:, 0], [np.nan, 90.0, 60.0, 90.0])  # 80 and 100 averaged
    np.testing.assert_allclose(a["values"][:, 1], [np.nan, 37.0, np.nan, np.nan])
    # Nothing is lost: every kept observation lands in exactly one bin.
    assert np.isfinite(a["values"]).sum() == 5
    with pytest.raises(ValueError, match="explicit grid"):
        build_patient_sequences(clean, ["HR"], times=clean[["patient_id", "time_h"]], step_hours=1)


def test_channel_selection_takes_columns_of_the_full_encoding_in_canonical_order():
    clean = _long([("a", 0.0, "HR", 80.0), ("a", 1.5, "Temp", 37.0), ("a", 3.0, "HR", 100.0)])
    seq = build_patient_sequences(clean, ["HR", "Temp"])["a"]
    stats = fit_normalisation({"a": seq}, ["a"])
    full = apply_features(seq, stats)
    assert full.shape[1] == len(feature_names(["HR", "Temp"])) == 7 and CHANNELS[0] == "value"
    chosen = apply_features(seq, stats, channels=["step_gap", "value"])  # order given is irrelevant
    np.testing.assert_array_equal(chosen, full[:, [0, 1, 6]])
    assert feature_names(["HR", "Temp"], ["step_gap", "value"]) == ["HR", "Temp", "hours_since_previous_step"]
    with pytest.raises(ValueError, match="subset of"):
        apply_features(seq, stats, channels=["value", "delta"])


def test_normalisation_uses_training_patients_only():
    clean = _long([("train", 0.0, "HR", 80.0), ("train", 1.0, "HR", 100.0),
                   ("test", 0.0, "HR", 10.0)])  # fmt: skip
    stats = fit_normalisation(build_patient_sequences(clean, ["HR"]), ["train"])
    changed = clean.assign(value=np.where(clean["patient_id"] == "test", 250.0, clean["value"]))
    stats_changed = fit_normalisation(build_patient_sequences(changed, ["HR"]), ["train"])
    assert stats["mean"][0] == 90.0 and stats["std"][0] == 10.0
    np.testing.assert_array_equal(stats["mean"], stats_changed["mean"])
    np.testing.assert_array_equal(stats["std"], stats_changed["std"])


def _digest(folder):
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in files)).hexdigest()


def test_demo_is_deterministic_and_in_the_real_formats(demo_paths, tmp_path):
    again = write_demo_vitals(tmp_path, seed=0)
    assert _digest(again["sepsis_dir"]) == _digest(demo_paths["sepsis_dir"])
    assert _digest(again["mortality_dir"]) == _digest(demo_paths["mortality_dir"])
    first = demo_paths["sepsis_files"][0].read_text().splitlines()[0]
    assert first.split("|") == PSV_COLUMNS
    header = demo_paths["mortality_outcomes"].read_text().splitlines()[0]
    assert header == "RecordID,SAPS-I,SOFA,Length_of_stay,Survival,In-hospital_death"


def _mean_auroc(clean, labels):
    means = clean.pivot_table(index="patient_id", columns="variable", values="value")
    means = means.fillna(means.mean())
    means = (means - means.mean()) / (means.std() + 1e-9)
    y = labels.set_index("patient_id")["label"].reindex(means.index).to_numpy()
    model = LogisticRegression(max_iter=2000, C=0.3)
    scores = cross_val_predict(model, means.to_numpy(), y, cv=5, method="predict_proba")[:, 1]
    return roc_auc_score(y, scores)


def test_demo_sets_parse_cleanly_with_the_intended_balance_and_a_learnable_signal(demo_paths):
    clean, labels, quarantine, report = validate_2012(
        PhysioNet2012Dataset(str(demo_paths["mortality_dir"])).load()
    )
    # the demo's deliberate bad values (vitals.demo.BAD_2012_OBSERVATIONS): quarantined, nothing else
    assert quarantine[["record_id", "field", "reason"]].values.tolist() == [
        ["200001/47:06/HR", "value", "HR=400 outside plausible range (0, 300)"],
        ["200002/47:34/Temp", "value", "non-numeric value 'n/a' for Temp"],
        ["200003/47:56/HeartRate", "variable", "unknown variable 'HeartRate'"],
    ]
    assert report["patients_kept"] == 300 and report["observations_quarantined"] == 3
    assert 0.12 <= labels["label"].mean() <= 0.16
    assert clean["time_h"].max() <= 48
    auroc_mortality = _mean_auroc(clean, labels)

    clean19, hourly, quarantine19, report19 = validate_2019(
        PhysioNet2019Dataset(str(demo_paths["sepsis_dir"])).load()
    )
    assert quarantine19[["record_id", "field", "reason"]].values.tolist() == [
        ["p000001/row3/HR", "value", "HR=400 outside plausible range (0, 300)"],
        ["p000002/row5/O2Sat", "value", "O2Sat=140 outside plausible range (0, 100]"],
    ]
    assert report19["patients_kept"] == 300 and report19["rows_quarantined"] == 0
    lengths = hourly.groupby("patient_id").size()
    assert lengths.min() >= 8 and lengths.max() <= 300 and 30 <= lengths.median() <= 50
    patient_labels = hourly.groupby("patient_id")["label"].max().reset_index()
    assert 0.06 <= patient_labels["label"].mean() <= 0.10
    auroc_sepsis = _mean_auroc(clean19, patient_labels)
    assert 0.8 <= auroc_mortality < 0.99 and 0.8 <= auroc_sepsis < 0.99, (
        auroc_mortality,
        auroc_sepsis,
    )
