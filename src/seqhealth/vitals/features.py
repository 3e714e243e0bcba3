"""Per-patient GRU-D style inputs from the canonical long table.

Sequences live on each patient's own time grid: the union of its observation times (optionally
binned to ``step_hours``), or the hourly rows for 2019. ``apply_features`` turns one sequence
into ``float32[T, F]`` from up to four channel groups, in this order: ``value`` (normalised,
carried forward), ``observed`` (mask), ``hours_since_seen`` (log1p hours since the variable was
last observed) and ``step_gap`` (log1p hours since the previous step; one column). All four
(GRU-D style inputs, ``3V+1`` columns) are the default. Missing values are carried forward from
the patient's own last observation (causal: only the past is used) and are 0 (= the training
mean) before the first observation; the mask and delta channels, when selected, tell the model
which is which. ``trend`` (opt-in, not a default) adds, per variable, the change of the
carried-forward normalised value over the last ``TREND_HOURS`` (0 until the variable had a value
that long ago): a causal slope the early-warning GRU need not learn to difference itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from seqhealth.vitals.quantile_scaling import fit_knots, quantile_normal

NORMALISATIONS = ("zscore", "quantile")


def build_patient_sequences(
    clean_long: pd.DataFrame,
    variables: list[str],
    times: str | pd.DataFrame = "observed",
    max_hours: float | None = None,
    step_hours: float | None = None,
) -> dict[str, dict]:
    """``{patient_id: {"times": float32[T], "values": float32[T, V] (raw, NaN = missing),
    "variables": list}}``.

    ``times="observed"``: the union of each patient's observation times (any variable of the
    long table, so descriptors at t=0 give a step at 0). A frame ``patient_id, time_h`` (e.g. the
    2019 hourly labels) gives the grid explicitly; observations off the grid are dropped.
    ``max_hours`` keeps ``time_h <= max_hours`` (e.g. the first 48 h for mortality).
    ``step_hours`` (observed grid only) moves each observation to the end of its bin,
    ``ceil(t / step_hours) * step_hours`` (so a step only holds what was charted by then: causal),
    and averages repeated measurements of one variable within a bin.
    Vectorised over all patients: one factorise + one scatter, then a split.
    """
    obs = clean_long
    if max_hours is not None:
        obs = obs[obs["time_h"] <= max_hours]
    if step_hours is not None:
        if not isinstance(times, str):
            raise ValueError("step_hours bins the observed grid; an explicit grid is used as given")
        if step_hours <= 0:
            raise ValueError(f"step_hours must be > 0, got {step_hours!r}")
        binned = np.ceil(obs["time_h"].to_numpy(dtype=np.float64) / step_hours) * step_hours
        obs = (
            obs[["patient_id", "variable", "value"]]
            .assign(time_h=binned)
            .groupby(["patient_id", "time_h", "variable"], as_index=False, sort=False)["value"]
            .mean()
        )
    if isinstance(times, str):
        if times != "observed":
            raise ValueError(f"times must be 'observed' or a frame, got {times!r}")
        grid = obs[["patient_id", "time_h"]]
    else:
        grid = times[["patient_id", "time_h"]]
        if max_hours is not None:
            grid = grid[grid["time_h"] <= max_hours]
    grid = grid.drop_duplicates().sort_values(["patient_id", "time_h"], ignore_index=True)
    # Column of each observation (-1: not a model variable) and its step on the grid (a left
    # join in observation order, so of repeated measurements the last one still wins).
    cols = _column_of(obs["variable"], list(variables))
    obs, cols = obs[cols >= 0], cols[cols >= 0]
    step_of = grid.assign(_step=np.arange(len(grid), dtype=np.float64))
    steps = (
        obs[["patient_id", "time_h"]]
        .merge(step_of, how="left", on=["patient_id", "time_h"])["_step"]
        .to_numpy()
    )
    on_grid = ~np.isnan(steps)
    values = np.full((len(grid), len(variables)), np.nan, dtype=np.float32)
    values[steps[on_grid].astype(np.int64), cols[on_grid]] = obs["value"].to_numpy()[on_grid]

    patient_ids, starts = np.unique(grid["patient_id"].to_numpy(), return_index=True)
    bounds = list(starts[1:]) + [len(grid)]
    all_times = grid["time_h"].to_numpy(dtype=np.float32)
    return {
        str(pid): {"times": all_times[a:b], "values": values[a:b], "variables": list(variables)}
        for pid, a, b in zip(patient_ids, starts, bounds, strict=True)
    }


def _column_of(names: pd.Series, variables: list[str]) -> np.ndarray:
    """Position of each name in ``variables`` (-1 if absent); Arrow-backed text by ``index_in``."""
    to_arrow = getattr(names.array, "__arrow_array__", None)
    if to_arrow is None:
        return pd.Index(variables).get_indexer(names)
    array = to_arrow()
    index = pc.index_in(array, value_set=pa.array(variables, type=array.type)).fill_null(-1)
    return index.to_numpy().astype(np.int64)


def fit_normalisation(sequences: dict[str, dict], patient_ids, method: str = "zscore") -> dict:
    """Per-variable mean/std over the *training* patients' observed values only.

    A variable never observed in training gets mean 0 / std 1; a constant one std 1, so
    normalising can never divide by zero or produce NaN. ``method="quantile"`` also keeps the
    quantile knots of those values (``vitals.quantile_scaling``): the value channels are then
    their rank-based normal scores instead of z-scores (mean/std stay for forecast targets).
    """
    method = normalisation_method(method)
    patient_ids = list(patient_ids)
    if not patient_ids:
        raise ValueError("fit_normalisation needs at least one training patient")
    stacked = np.concatenate([sequences[p]["values"] for p in patient_ids], axis=0)
    observed = ~np.isnan(stacked)
    count = observed.sum(axis=0)
    total = np.where(observed, stacked, 0.0).sum(axis=0, dtype=np.float64)
    mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    squares = np.where(observed, (stacked - mean) ** 2, 0.0).sum(axis=0, dtype=np.float64)
    std = np.sqrt(np.divide(squares, count, out=np.zeros_like(squares), where=count > 0))
    std = np.where(std > 1e-6, std, 1.0)
    stats = {
        "variables": list(sequences[patient_ids[0]]["variables"]),
        "mean": mean.astype(np.float32),
        "std": std.astype(np.float32),
        "n_patients": len(patient_ids),
    }
    if method == "quantile":
        stats["quantiles"] = fit_knots([stacked[observed[:, v], v] for v in range(stacked.shape[1])])
    return stats


def normalisation_method(method: str | None) -> str:
    """``samples.normalisation`` checked (None: ``zscore``), for the in-memory and stored builders."""
    method = method or "zscore"
    if method not in NORMALISATIONS:
        raise ValueError(f"samples.normalisation must be one of {list(NORMALISATIONS)}, got {method!r}")
    return method


def normalise(values: np.ndarray, stats: dict) -> np.ndarray:
    """Raw values -> the model's value scale: rank-based normal scores when the statistics hold
    quantile knots, else z-scores. NaN (missing) stays NaN."""
    if stats.get("quantiles"):
        return quantile_normal(values, stats["quantiles"]).astype(values.dtype)
    return (values - stats["mean"]) / stats["std"]


def _last_observed_index(mask: np.ndarray) -> np.ndarray:
    """For each (t, v): index of the latest step <= t where v was observed, -1 if none."""
    steps = np.arange(mask.shape[0])[:, None]
    return np.maximum.accumulate(np.where(mask, steps, -1), axis=0)


CHANNELS = ("value", "observed", "hours_since_seen", "step_gap")  # the default selection
# Every known group, in canonical order; ``trend`` is opt-in (``samples.channels``) so models and
# their logged preprocessing without it are unchanged.
ALL_CHANNELS = (*CHANNELS, "trend")
TREND_HOURS = 6.0


def _check_channels(channels) -> tuple[str, ...]:
    channels = tuple(channels)
    unknown = [c for c in channels if c not in ALL_CHANNELS]
    if unknown or not channels:
        raise ValueError(
            f"feature channels must be a non-empty subset of {list(ALL_CHANNELS)}, got {list(channels)}"
        )
    return tuple(c for c in ALL_CHANNELS if c in channels)  # always the canonical order


def apply_features(
    seq: dict, stats: dict, carry_forward: bool = True, channels=CHANNELS
) -> np.ndarray:
    """One patient -> ``float32[T, F]`` with the ``channels`` groups; always finite (asserted)."""
    return apply_features_many([seq], stats, carry_forward, channels)[0]


def apply_features_many(
    seqs: list[dict], stats: dict, carry_forward: bool = True, channels=CHANNELS
) -> list[np.ndarray]:
    """``apply_features`` of many patients in one vectorised pass over their concatenated steps
    (a cohort of thousands of short stays would otherwise pay numpy's per-call overhead thousands
    of times). Carry-forward and "last seen" restart at each patient's first step, so every
    patient's array is the one ``apply_features`` gives for it alone."""
    channels = _check_channels(channels)
    out: list[np.ndarray] = []
    block: list[dict] = []
    steps = 0
    for seq in seqs:
        block.append(seq)
        steps += len(seq["times"])
        if steps >= _BLOCK_STEPS:
            out.extend(_features_block(block, stats, carry_forward, channels))
            block, steps = [], 0
    if block:
        out.extend(_features_block(block, stats, carry_forward, channels))
    return out


# Steps per vectorised block: large enough to amortise numpy's per-call cost over many short
# stays, small enough that the float64 temporaries stay in cache (one pass over a whole cohort's
# steps was slower than the per-patient loop: its temporaries are hundreds of MB).
_BLOCK_STEPS = 4096


def _features_block(
    seqs: list[dict], stats: dict, carry_forward: bool, channels: tuple[str, ...]
) -> list[np.ndarray]:
    lengths = np.asarray([len(seq["times"]) for seq in seqs], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    values = np.concatenate([seq["values"] for seq in seqs], axis=0)
    times = np.concatenate([np.asarray(seq["times"]) for seq in seqs]).astype(np.float64)
    first_step = np.repeat(starts, lengths)  # each step's patient's first step
    mask = ~np.isnan(values)
    normalised = normalise(values, stats)
    last = _last_observed_index(mask)
    last = np.where(
        last >= first_step[:, None], last, -1
    )  # an earlier patient's observation is not carried
    if carry_forward:
        seen = last >= 0
        filled = np.where(
            seen, np.take_along_axis(normalised, np.maximum(last, 0), axis=0), 0.0
        ).astype(normalised.dtype)
    else:
        filled = np.where(mask, normalised, 0.0)
    # Before the first observation the "last seen" time is the start of the patient's sequence.
    last_time = np.where(
        last >= 0, times[np.maximum(last, 0)], times[first_step][:, None] if len(times) else 0.0
    )
    since_seen = np.log1p(np.maximum(times[:, None] - last_time, 0.0))
    step_gap = np.diff(times, prepend=times[:1])
    step_gap[starts[lengths > 0]] = 0.0
    gap = np.log1p(np.maximum(step_gap, 0.0))[:, None]
    groups = {"value": filled, "observed": mask, "hours_since_seen": since_seen, "step_gap": gap}
    if "trend" in channels:
        groups["trend"] = _trend(filled, last, times, starts, lengths, first_step)
    out = np.concatenate([groups[c] for c in channels], axis=1).astype(np.float32)
    assert np.isfinite(out).all(), "apply_features produced a non-finite value"
    return np.split(out, starts[1:])


def _trend(filled, last, times, starts, lengths, first_step) -> np.ndarray:
    """Per (step, variable): ``filled[t] - filled[r]``, ``r`` the patient's latest step at least
    ``TREND_HOURS`` before ``t``; 0 where there is no such step or the variable had no value by
    then (only past steps are read: causal)."""
    if not len(times):
        return np.zeros_like(filled)
    # One increasing key over the block: each patient's times shifted past the previous patient's
    # (with a gap wider than the window), so one searchsorted finds every step's reference step.
    span = np.zeros(len(lengths))
    nonempty = lengths > 0
    span[nonempty] = times[starts[nonempty] + lengths[nonempty] - 1] - times[starts[nonempty]]
    offset = np.concatenate([[0.0], np.cumsum(span + 2 * TREND_HOURS + 1)[:-1]])
    key = times - times[first_step] + np.repeat(offset, lengths)
    ref = np.searchsorted(key, key - TREND_HOURS, side="right") - 1
    valid = ref >= first_step
    ref = np.where(valid, ref, 0)
    had_value = valid[:, None] & (last[ref] >= 0)
    return np.where(had_value, filled - filled[ref], 0.0).astype(filled.dtype)


def feature_names(variables: list[str], channels=CHANNELS) -> list[str]:
    """Column names of ``apply_features`` output, in order."""
    names = {
        "value": [f"{v}" for v in variables],
        "observed": [f"{v}__observed" for v in variables],
        "hours_since_seen": [f"{v}__hours_since_seen" for v in variables],
        "step_gap": ["hours_since_previous_step"],
        "trend": [f"{v}__trend_{TREND_HOURS:g}h" for v in variables],
    }
    return [name for c in _check_channels(channels) for name in names[c]]


def encode_like(
    clean_long: pd.DataFrame,
    preprocessing: dict,
    times: str | pd.DataFrame = "observed",
    patients=None,
) -> dict:
    """``{patient_id: (sequence, features)}`` encoded exactly as the model that logged
    ``preprocessing`` was trained: its grid (``max_hours``, ``step_hours``), its training
    normalisation and its ``channels``. For champion re-scoring and serving. Models logged before
    ``step_hours``/``channels`` existed lack the keys and get the then-only encoding.
    ``patients``: encode only these (default: every patient in ``clean_long``)."""
    if patients is not None:
        wanted = {str(p) for p in patients}  # sequences are keyed by str(patient_id)
        clean_long = clean_long[clean_long["patient_id"].astype(str).isin(wanted)]
        if not isinstance(times, str):
            times = times[times["patient_id"].astype(str).isin(wanted)]
    sequences = build_patient_sequences(
        clean_long,
        list(preprocessing["variables"]),
        times=times,
        max_hours=preprocessing.get("max_hours"),
        step_hours=preprocessing.get("step_hours"),
    )
    stats = {
        k: np.asarray(preprocessing["normalisation"][k], dtype=np.float32) for k in ("mean", "std")
    }
    stats["quantiles"] = preprocessing["normalisation"].get("quantiles")  # rank-based models only
    channels = preprocessing.get("channels") or CHANNELS
    features = apply_features_many(list(sequences.values()), stats, channels=channels)
    return {
        patient: (seq, x) for (patient, seq), x in zip(sequences.items(), features, strict=True)
    }


def summary_layout(n_variables: int, channels) -> dict:
    """``{"n_variables", "observed_offset"}`` of the features built with ``channels`` (canonical
    order ``vitals.features.ALL_CHANNELS``): 0 variables when there is no value channel."""
    channels = _check_channels(channels)
    if "value" not in channels:
        return {"n_variables": 0, "observed_offset": -1}
    return {"n_variables": n_variables, "observed_offset": n_variables if "observed" in channels else -1}
