"""Rank-based scaling (samples.normalisation: quantile): bounded, order-keeping, fitted on the
training patients only, and travelling with the model to serving (encode_like)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from seqhealth.vitals.features import (
    apply_features_many,
    build_patient_sequences,
    encode_like,
    fit_normalisation,
)
from seqhealth.vitals.quantile_scaling import fit_knots, quantile_normal


def test_heavy_tailed_values_become_bounded_normal_scores_in_rank_order():
    rng = np.random.default_rng(0)
    train = np.exp(rng.normal(size=5000) * 2.0)  # log-normal: z-scores reach far beyond +-10
    knots = fit_knots([train])
    query = np.sort(np.exp(rng.normal(size=300) * 2.0))[:, None]
    scores = quantile_normal(query, knots)[:, 0]
    assert np.all(np.diff(scores) >= 0)  # order kept
    assert np.abs(scores).max() <= norm.ppf(1 - 1e-3) + 1e-9
    # The training median maps to ~0 and the 84th percentile to ~+1 (a standard normal).
    np.testing.assert_allclose(quantile_normal(np.quantile(train, [0.5, 0.8413])[:, None], knots)[:, 0],
                               [0.0, 1.0], atol=0.03)  # fmt: skip
    z = (query[:, 0] - train.mean()) / train.std()
    assert z.max() > 10  # what the z-score would have fed the model


def test_binary_missing_and_unseen_variables():
    sex = np.array([0.0] * 300 + [1.0] * 700)
    knots = fit_knots([sex, np.zeros(0)])
    values = np.array([[0.0, 5.0], [1.0, np.nan], [np.nan, -3.0]])
    out = quantile_normal(values, knots)
    assert out[0, 0] < 0 < out[1, 0]  # two levels, apart
    assert np.isnan(out[2, 0]) and np.isnan(out[1, 1])  # missing stays missing
    assert out[0, 1] == 0.0 and out[2, 1] == 0.0  # never observed in training: the median


def _long(patients: dict[str, list[float]]) -> pd.DataFrame:
    rows = [(p, float(t), "WBC", v) for p, values in patients.items() for t, v in enumerate(values)]
    return pd.DataFrame(rows, columns=["patient_id", "time_h", "variable", "value"])


def test_fitted_on_training_patients_and_the_same_after_a_round_trip_to_the_bundle():
    long = _long({"a": [5.0, 7.0, 9.0], "b": [11.0, 200.0], "c": [6.0, 8.0]})
    sequences = build_patient_sequences(long, ["WBC"])
    stats = fit_normalisation(sequences, ["a", "b"], method="quantile")
    train_only = fit_normalisation(sequences, ["a"], method="quantile")
    assert stats["quantiles"] != train_only["quantiles"]  # the knots come from the patients given
    features = apply_features_many([sequences["c"]], stats, channels=["value"])[0][:, 0]
    assert np.all(np.abs(features) < 3.1) and features[0] < features[1]
    # The bundle keeps plain numbers (JSON); serving re-encodes identically from them.
    preprocessing = {"variables": ["WBC"], "channels": ["value"], "max_hours": None, "step_hours": None,
                     "normalisation": json.loads(json.dumps({k: (v.tolist() if hasattr(v, "tolist") else v)
                                                             for k, v in stats.items()}))}  # fmt: skip
    _, served = encode_like(long[long["patient_id"] == "c"], preprocessing)["c"]
    np.testing.assert_array_equal(served[:, 0], features)


def test_unknown_normalisation_is_refused():
    sequences = build_patient_sequences(_long({"a": [1.0, 2.0]}), ["WBC"])
    with pytest.raises(ValueError, match="samples.normalisation"):
        fit_normalisation(sequences, ["a"], method="minmax")
