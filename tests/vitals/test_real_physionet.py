"""Loaders + validation on the real shared PhysioNet samples: counts must match their READMEs."""

from __future__ import annotations

import numpy as np
import pytest
from kedro.io import DatasetError

from seqhealth.datasets.physionet import PhysioNet2012Dataset, PhysioNet2019Dataset
from seqhealth.vitals.features import apply_features, build_patient_sequences, fit_normalisation
from seqhealth.vitals.schema import P2012_FEATURES, PSV_FEATURES
from seqhealth.vitals.validation import validate_2012, validate_2019


@pytest.fixture(scope="module")
def mortality(mortality_2012_dir):
    raw = PhysioNet2012Dataset(str(mortality_2012_dir)).load()
    return raw, validate_2012(raw)


@pytest.fixture(scope="module")
def sepsis(sepsis_2019_dir):
    raw = PhysioNet2019Dataset(str(sepsis_2019_dir)).load()
    return raw, validate_2019(raw)


def test_2012_sample_has_400_patients_and_55_deaths(mortality):
    raw, (clean, labels, quarantine, report) = mortality
    assert raw["patients"]["patient_id"].nunique() == 400
    assert len(raw["outcomes"]) == 400
    assert report["patients_kept"] == 400 and len(labels) == 400
    assert int(labels["label"].sum()) == 55
    assert report["observations_in"] == len(raw["observations"])
    assert report["observations_in"] == (
        report["observations_kept"]
        + report["observations_quarantined"]
        + sum(report["repairs"].values())
    )
    assert report["repairs"]["record_id_rows"] == 400
    assert len(quarantine) == report["records_quarantined"] + report["context_rows"]
    # Real artefacts are caught, not kept: Temp -17.8 and pH 3 are in this sample.
    assert clean.loc[clean["variable"] == "Temp", "value"].min() >= 25
    assert clean.loc[clean["variable"] == "pH", "value"].min() >= 6.5
    assert quarantine["reason"].str.contains("Temp=-17.8 outside").any()
    # Times are irregular HH:MM hours within the 48 h window, never resampled.
    assert clean["time_h"].between(0, 48).all()
    minutes = clean["time_h"].to_numpy() * 60
    assert np.allclose(minutes, np.round(minutes), atol=1e-6)
    assert clean["time_h"].nunique() > 48  # irregular: far more distinct times than hours


def test_2019_sample_has_500_patients_18503_rows_and_28_septic(sepsis):
    raw, (clean, hourly, quarantine, report) = sepsis
    assert raw["patient_id"].nunique() == 500 and len(raw) == 18503
    assert report["rows_in"] == 18503 and report["rows_kept"] == 18503
    assert len(hourly) == 18503 and int(hourly["label"].sum()) == 254
    assert int(hourly.groupby("patient_id")["label"].max().sum()) == 28
    assert report["observations_in"] == report["observations_kept"] + len(quarantine)
    assert not {"ICULOS", "SepsisLabel"} & set(clean["variable"])
    # The one FiO2 = 2 cell in p105116 is an impossible fraction.
    assert quarantine["record_id"].tolist() == ["p105116/row10/FiO2"]


def test_real_features_are_finite_with_the_documented_width(mortality, sepsis):
    _, (clean, labels, _, _) = mortality
    sequences = build_patient_sequences(clean, P2012_FEATURES, max_hours=48)
    stats = fit_normalisation(sequences, sorted(sequences)[:300])
    for sequence in sequences.values():
        features = apply_features(sequence, stats)
        assert features.shape == (len(sequence["times"]), 3 * len(P2012_FEATURES) + 1)
        assert np.isfinite(features).all()
    _, (clean19, hourly, _, _) = sepsis
    hourly_sequences = build_patient_sequences(clean19, PSV_FEATURES, times=hourly)
    assert sum(len(s["times"]) for s in hourly_sequences.values()) == 18503


def test_datasets_are_read_only(mortality_2012_dir, sepsis_2019_dir):
    for dataset in (
        PhysioNet2012Dataset(str(mortality_2012_dir)),
        PhysioNet2019Dataset(str(sepsis_2019_dir)),
    ):
        assert dataset.exists()
        with pytest.raises(DatasetError, match="read-only"):
            dataset.save({})
