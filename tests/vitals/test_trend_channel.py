"""The opt-in ``trend`` channel group: per variable, the change of the carried-forward normalised
value over the last ``TREND_HOURS`` (causal), 0 until the variable had a value that long ago. The
default channels and their columns are unchanged by it."""

from __future__ import annotations

import numpy as np
import pytest

from seqhealth.vitals import features
from seqhealth.vitals.features import (
    ALL_CHANNELS,
    CHANNELS,
    TREND_HOURS,
    apply_features,
    apply_features_many,
    feature_names,
)

NAN = np.nan
UNIT = {"mean": np.zeros(1, np.float32), "std": np.ones(1, np.float32)}


def _seq(times, values) -> dict:
    return {"times": np.asarray(times, np.float32), "values": np.asarray(values, np.float32)[:, None],
            "variables": ["HR"]}  # fmt: skip


def trend_reference(seq: dict, stats: dict) -> np.ndarray:
    """The definition, one step at a time: the latest step at least TREND_HOURS back."""
    filled = apply_features(seq, stats, channels=["value"])
    seen = ~np.isnan(seq["values"])
    times = seq["times"].astype(np.float64)
    out = np.zeros_like(filled)
    for t in range(len(times)):
        back = np.flatnonzero(times <= times[t] - TREND_HOURS)
        if back.size:
            r = back[-1]
            had = seen[: r + 1].any(axis=0)
            out[t] = np.where(had, filled[t] - filled[r], 0.0)
    return out


def test_hourly_trend_by_hand():
    assert TREND_HOURS == 6.0 and ALL_CHANNELS[-1] == "trend" and "trend" not in CHANNELS
    seq = _seq(range(10), [NAN, 1, 2, NAN, 4, 5, 6, 7, 8, 9])
    x = apply_features(seq, UNIT, channels=["value", "trend"])
    np.testing.assert_array_equal(x[:, 0], [0, 1, 2, 2, 4, 5, 6, 7, 8, 9])
    # Hour 6 looks back to hour 0 (no value yet: 0); hour 7 to hour 1 (7 - 1), hour 9 to 3 (9 - 2).
    np.testing.assert_array_equal(x[:, 1], [0, 0, 0, 0, 0, 0, 0, 6, 6, 7])
    assert feature_names(["HR"], ["trend", "value"]) == ["HR", "HR__trend_6h"]  # canonical order


def test_irregular_times_look_back_to_the_latest_step_six_hours_before():
    seq = _seq([0, 3, 7, 8, 20], [5, 6, NAN, 1, 2])
    x = apply_features(seq, UNIT, channels=["trend"])
    # t=7 -> step t=0 (6 - 5 carried); t=8 -> t=0 (1 - 5); t=20 -> t=8 (2 - 1).
    np.testing.assert_array_equal(x[:, 0], [0, 0, 1, -4, 1])


@pytest.mark.parametrize("block_steps", [1, 7, 4096])
def test_many_patients_equal_the_definition_and_keep_the_default_columns(monkeypatch, block_steps):
    monkeypatch.setattr(features, "_BLOCK_STEPS", block_steps)
    rng = np.random.default_rng(0)
    seqs = []
    for p in range(25):
        n = int(rng.integers(0, 30))
        times = np.cumsum(rng.exponential(2.0, size=n)) if p % 2 else np.arange(n, dtype=float)
        values = rng.normal(size=(n, 3)).astype(np.float32)
        values[rng.random(values.shape) < 0.5] = np.nan
        seqs.append(
            {"times": times.astype(np.float32), "values": values, "variables": ["a", "b", "c"]}
        )
    stats = {"mean": np.full(3, 0.1, np.float32), "std": np.full(3, 2.0, np.float32)}
    default = apply_features_many(seqs, stats)
    with_trend = apply_features_many(seqs, stats, channels=ALL_CHANNELS)
    width = len(feature_names(["a", "b", "c"]))
    assert with_trend[0].shape[1] == len(feature_names(["a", "b", "c"], ALL_CHANNELS)) == width + 3
    for seq, x, plain in zip(seqs, with_trend, default, strict=True):
        np.testing.assert_array_equal(x[:, :width], plain)  # the existing channels bit for bit
        np.testing.assert_allclose(x[:, width:], trend_reference(seq, stats), rtol=0, atol=1e-6)


def test_unknown_channel_is_refused():
    with pytest.raises(ValueError, match="trend"):
        apply_features(_seq([0], [1]), UNIT, channels=["slope"])
