"""The vitals stay summary (models/stay_summary.py) against a plain per-stay reference, causal
when running, and wired into SequenceModel through the feature layout the vitals builders record."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqhealth.models.module import SequenceModel
from seqhealth.models.stay_summary import StaySummary
from seqhealth.vitals.features import apply_features_many, fit_normalisation, summary_layout

V = 3


def _batch(seed: int = 0, steps: int = 9):
    """Two stays (9 and 6 valid steps) in the value + observed layout, some variables never seen."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(2, steps, V)).astype(np.float32)
    observed = (rng.random((2, steps, V)) < 0.5).astype(np.float32)
    observed[1, :, 2] = 0.0  # stay 1 never measures variable 2
    lengths = torch.tensor([steps, 6])
    mask = torch.arange(steps).unsqueeze(0) < lengths.unsqueeze(1)
    x = torch.from_numpy(np.concatenate([values, observed], axis=-1))
    return x, mask


def _reference(x: np.ndarray, valid: int) -> np.ndarray:
    """mean, min, max, first, log1p(count) of each variable's observed values in the first steps."""
    out = np.zeros((5, V))
    for v in range(V):
        seen = x[:valid, V + v] > 0
        vals = x[:valid, v][seen]
        if len(vals):
            out[:, v] = [vals.mean(), vals.min(), vals.max(), vals[0], np.log1p(len(vals))]
    return out.ravel()


def test_whole_stay_statistics_match_a_per_stay_reference():
    x, mask = _batch()
    got = StaySummary(V, observed_offset=V)(x, mask).numpy()
    for b, valid in enumerate(mask.sum(1).tolist()):
        np.testing.assert_allclose(got[b], _reference(x[b].numpy(), valid), rtol=1e-5, atol=1e-6)
    assert got[1, 2::V].tolist() == [0.0] * 5  # never measured: the training mean, count 0


def test_running_statistics_are_those_of_each_prefix_and_causal():
    x, mask = _batch(seed=1)
    running = StaySummary(V, observed_offset=V, running=True)(x, mask).numpy()
    for b, valid in enumerate(mask.sum(1).tolist()):
        for t in range(valid):
            np.testing.assert_allclose(running[b, t], _reference(x[b].numpy(), t + 1), rtol=1e-5, atol=1e-6)
    changed = x.clone()
    changed[:, 5:] += 10.0  # the future changes; steps 0-4 must not
    again = StaySummary(V, observed_offset=V, running=True)(changed, mask).numpy()
    np.testing.assert_array_equal(again[:, :5], running[:, :5])
    assert not np.allclose(again[0, 5:], running[0, 5:])


def test_without_an_observed_channel_every_valid_step_counts():
    x, mask = _batch()
    values_only = x[..., :V]
    got = StaySummary(V)(values_only, mask).numpy()
    np.testing.assert_allclose(got[1, :V], values_only[1, :6].mean(0).numpy(), rtol=1e-5)  # padding ignored
    np.testing.assert_allclose(got[1, 4 * V:], np.log1p(6.0))


def test_layout_recorded_by_the_builders_points_at_the_value_and_observed_columns():
    assert summary_layout(35, ["value", "observed", "hours_since_seen", "step_gap"]) == {
        "n_variables": 35, "observed_offset": 35}
    assert summary_layout(35, ["step_gap", "value"]) == {"n_variables": 35, "observed_offset": -1}
    assert summary_layout(35, ["observed", "step_gap"])["n_variables"] == 0
    # The layout describes apply_features' real output: its observed columns are the mask.
    seq = {"times": np.arange(4.0), "variables": ["HR", "MAP"],
           "values": np.array([[1.0, np.nan], [np.nan, 2.0], [3.0, np.nan], [np.nan, np.nan]])}
    stats = fit_normalisation({"p": seq}, ["p"])
    features = apply_features_many([seq], stats, channels=["value", "observed", "step_gap"])[0]
    offset = summary_layout(2, ["value", "observed", "step_gap"])["observed_offset"]
    np.testing.assert_array_equal(features[:, offset:offset + 2], ~np.isnan(seq["values"]))


@pytest.mark.parametrize("task_kind", ["sequence", "tagging"])
def test_sequence_model_head_reads_the_summary(task_kind):
    torch.manual_seed(0)
    x, mask = _batch()
    x = torch.cat([x, torch.zeros(2, x.shape[1], 1)], dim=-1)  # + step_gap: 2V+1 features
    lengths = mask.sum(1)
    kwargs = dict(task_kind=task_kind, input_kind="features", input_size=2 * V + 1, cell="gru", hidden_size=4,
                  num_layers=1, causal=task_kind == "tagging", bidirectional=task_kind == "sequence")
    plain = SequenceModel(**kwargs)
    model = SequenceModel(**kwargs, stay_summary=True, n_variables=V, observed_offset=V)
    assert model.head.out.in_features == plain.head.out.in_features + 5 * V
    logits = model(x, lengths, mask)
    assert logits.shape == plain(x, lengths, mask).shape
    # The summary path carries gradient back to the values (explanations see it too).
    x = x.clone().requires_grad_(True)
    model(x, lengths, mask).sum().backward()
    assert x.grad[..., :V].abs().sum() > 0
    with pytest.raises(ValueError, match="n_variables"):
        SequenceModel(**kwargs, stay_summary=True, n_variables=0)
