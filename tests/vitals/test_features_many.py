"""``apply_features_many`` (one vectorised pass per block of stays) gives, for every patient, the
array the per-patient formula gives (issue 21: the per-patient loop was half of building a
cohort's model input)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqhealth.vitals import features
from seqhealth.vitals.features import (
    CHANNELS,
    apply_features_many,
    build_patient_sequences,
    fit_normalisation,
)


def per_patient_reference(seq: dict, stats: dict, carry_forward: bool, channels) -> np.ndarray:
    """The per-patient encoding as it was written before the vectorised form (kept here as the
    reference the new code must reproduce bit for bit)."""
    values, times = seq["values"], seq["times"].astype(np.float64)
    mask = ~np.isnan(values)
    normalised = (values - stats["mean"]) / stats["std"]
    last = np.maximum.accumulate(np.where(mask, np.arange(mask.shape[0])[:, None], -1), axis=0)
    if carry_forward:
        filled = np.where(
            last >= 0, np.take_along_axis(normalised, np.maximum(last, 0), axis=0), 0.0
        ).astype(normalised.dtype)
    else:
        filled = np.where(mask, normalised, 0.0)
    last_time = np.where(last >= 0, times[np.maximum(last, 0)], times[0] if len(times) else 0.0)
    since_seen = np.log1p(np.maximum(times[:, None] - last_time, 0.0))
    gap = np.log1p(np.maximum(np.diff(times, prepend=times[:1]), 0.0))[:, None]
    groups = {"value": filled, "observed": mask, "hours_since_seen": since_seen, "step_gap": gap}
    return np.concatenate([groups[c] for c in CHANNELS if c in channels], axis=1).astype(np.float32)


def _cohort(n_patients: int, seed: int = 0) -> dict:
    """Stays of 0-40 irregular steps; some variables charted late or never, so carry-forward and
    "last seen" would leak across patients if a block did not restart them."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        times = np.cumsum(rng.exponential(1.5, size=rng.integers(1, 40)))
        for t in times:
            for v, chance in (("HR", 0.9), ("Temp", 0.3), ("Lactate", 0.05 if p % 3 else 0.0)):
                if rng.random() < chance:
                    rows.append(
                        (f"p{p:03d}", float(t), v, float(rng.normal(80 if v == "HR" else 5, 10)))
                    )
    clean = pd.DataFrame(rows, columns=["patient_id", "time_h", "variable", "value"])
    return build_patient_sequences(clean, ["HR", "Temp", "Lactate"])


@pytest.mark.parametrize("block_steps", [1, 7, 4096])
@pytest.mark.parametrize("carry_forward", [True, False])
def test_many_equals_the_per_patient_formula_for_every_patient(
    monkeypatch, block_steps, carry_forward
):
    monkeypatch.setattr(
        features, "_BLOCK_STEPS", block_steps
    )  # blocks ending mid-cohort, or one block
    sequences = _cohort(60)
    patients = sorted(sequences)
    stats = fit_normalisation(sequences, patients[:40])
    for channels in (CHANNELS, ("value", "step_gap"), ("observed", "hours_since_seen")):
        got = apply_features_many([sequences[p] for p in patients], stats, carry_forward, channels)
        assert len(got) == len(patients)
        for patient, x in zip(patients, got, strict=True):
            expected = per_patient_reference(sequences[patient], stats, carry_forward, channels)
            assert x.dtype == np.float32 and x.shape == expected.shape
            np.testing.assert_array_equal(x, expected, err_msg=patient)


def test_a_patient_never_inherits_the_previous_patients_observation():
    clean = pd.DataFrame([("a", 0.0, "HR", 50.0), ("a", 5.0, "HR", 150.0), ("b", 0.0, "Temp", 37.0),
                          ("b", 2.0, "Temp", 38.0)], columns=["patient_id", "time_h", "variable", "value"])  # fmt: skip
    sequences = build_patient_sequences(clean, ["HR", "Temp"])
    stats = fit_normalisation(sequences, ["a", "b"])
    a, b = apply_features_many([sequences["a"], sequences["b"]], stats)
    # b never has HR: its value is the training mean (0), its mask 0, its "hours since seen" is
    # counted from b's own first step, and its first step gap is 0 (not 0 - 5 h).
    np.testing.assert_array_equal(b[:, 0], [0.0, 0.0])
    np.testing.assert_array_equal(b[:, 2], [0.0, 0.0])
    np.testing.assert_allclose(b[:, 4], np.log1p([0.0, 2.0]))
    np.testing.assert_allclose(b[:, 6], np.log1p([0.0, 2.0]))
    assert apply_features_many([], stats) == []
