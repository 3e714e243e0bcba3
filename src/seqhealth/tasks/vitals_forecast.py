"""``vitals_forecast``: flag irregular vital signs (PhysioNet 2019 hourly ``.psv``).

A causal GRU reads each stay hour by hour and forecasts the NEXT hour's HR, MAP, O2Sat, Resp,
Temp and SBP as a Gaussian (mean and spread). The spread is widened or narrowed per vital on the
validation patients so that the 90 % interval covers 90 % of what is observed next (stored in the
bundle: it travels to serving). An observed value outside the interval that the previous hour
predicted for it is flagged as irregular.

Judged on held-out patients against two baselines a bedside monitor could use: the last observed
value carried forward (LOCF) and the mean of the last three observations.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seqhealth.batching.arrow_store import open_split
from seqhealth.engine.evaluation import metrics_document
from seqhealth.engine.fit import predict_samples
from seqhealth.reporting import learning_curves_figure
from seqhealth.serving.raw_inputs import vitals_long_table, vitals_samples
from seqhealth.splits import split_groups
from seqhealth.tasks.vitals_common import VitalsTask
from seqhealth.tasks.vitals_stored import stored_vitals_model_input
from seqhealth.vitals.demo import write_sepsis_demo
from seqhealth.vitals.features import build_patient_sequences
from seqhealth.vitals.partitions import read_layer
from seqhealth.vitals.schema import PSV_FEATURES, RANGES_2019
from seqhealth.vitals.streamed_input import partition_numbers

TARGETS = ["HR", "MAP", "O2Sat", "Resp", "Temp", "SBP"]
INTERVAL = 0.90
PRE_ONSET_HOURS = 6  # PhysioNet 2019 labels turn 1 six hours before the clinical onset


def _next_hour_targets(seq: dict, stats: dict) -> np.ndarray:
    """``float32[T, K]``: the CHANGE, in training standard deviations, from each target's last
    value known at step t (carried forward; 0 = the training mean before the first) to its value
    observed at step t+1 (NaN if not observed). Forecasting the change makes "no change" (LOCF)
    the model's starting point: on 500 real stays a model of the level itself did worse than LOCF
    (mean normalised MAE 0.432-0.453 vs 0.431), a model of the change better (README)."""
    index = [stats["variables"].index(v) for v in TARGETS]
    values = (seq["values"][:, index] - stats["mean"][index]) / stats["std"][index]
    carried = pd.DataFrame(values).ffill().fillna(0.0).to_numpy()
    targets = np.full_like(values, np.nan, dtype=np.float32)
    targets[:-1] = values[1:] - carried[:-1]
    return targets


def _sepsis_labels(hourly_labels: pd.DataFrame) -> dict[str, np.ndarray]:
    """``{patient: int8[T]}`` hourly sepsis labels in time order."""
    ordered = hourly_labels.sort_values(["patient_id", "time_h"])
    return {str(p): f["label"].to_numpy(dtype=np.int8) for p, f in ordered.groupby("patient_id", sort=False)}


def _carried(bundle: dict, x: np.ndarray) -> np.ndarray:
    """The normalised last-known value of each target at every step: the model input's value column."""
    names = bundle["preprocessing"]["feature_names"]
    return x[:, [names.index(v) for v in TARGETS]].astype(np.float64)


def _baselines(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per step, for each target: LOCF and the mean of the last 3 observations up to that step."""
    locf = pd.DataFrame(values).ffill().to_numpy()
    moving = np.full_like(values, np.nan)
    for k in range(values.shape[1]):
        seen = np.flatnonzero(np.isfinite(values[:, k]))
        if seen.size:
            cumulative = np.cumsum(values[seen, k])
            last3 = (cumulative - np.concatenate([np.zeros(3), cumulative[:-3]])[: len(cumulative)]) / np.minimum(
                np.arange(1, len(seen) + 1), 3)
            position = np.searchsorted(seen, np.arange(len(values)), side="right") - 1
            moving[:, k] = np.where(position >= 0, last3[np.maximum(position, 0)], np.nan)
    return locf, moving


def _mae_figure(scores: dict, locf: dict, moving: dict) -> dict:
    """MAE per vital of the model next to both baselines (lower is better)."""
    figure, axes = plt.subplots(figsize=(8, 3.5))
    x = np.arange(len(TARGETS))
    for offset, (label, source) in zip((-0.27, 0, 0.27), (("model", scores), ("LOCF", locf), ("mean of last 3", moving))):
        axes.bar(x + offset, [source[f"mae_{v}"] / max(locf[f"mae_{v}"], 1e-9) for v in TARGETS], 0.27, label=label)
    axes.set_xticks(x, TARGETS)
    axes.set_ylabel("MAE / LOCF's MAE")
    axes.set_title("vitals_forecast: next-hour MAE per vital (test patients)")
    axes.legend(loc="upper right", fontsize=8)
    return {"forecast_mae.png": figure}


def _example_figure(truth: np.ndarray, predicted: np.ndarray, half: np.ndarray) -> dict:
    """One test stay: what was observed next, against the forecast and its 90 % interval."""
    figure, grid = plt.subplots(len(TARGETS), 1, figsize=(9, 1.6 * len(TARGETS)), sharex=True)
    hours = np.arange(1, len(truth) + 1)
    for j, (axes, vital) in enumerate(zip(grid, TARGETS)):
        axes.fill_between(hours, predicted[:, j] - half[:, j], predicted[:, j] + half[:, j], alpha=0.3, label="90 % interval")
        axes.plot(hours, predicted[:, j], lw=1, label="forecast")
        outside = np.abs(truth[:, j] - predicted[:, j]) > half[:, j]
        axes.plot(hours, truth[:, j], ".", ms=3, color="black", label="observed")
        axes.plot(hours[outside], truth[outside, j], "x", color="red", label="irregular")
        axes.set_ylabel(vital)
    grid[0].legend(loc="upper right", fontsize=7, ncol=4)
    grid[-1].set_xlabel("hour of stay (forecast made one hour before)")
    return {"forecast_example.png": figure}


class VitalsForecastTask(VitalsTask):
    name = "vitals_forecast"
    summary = "next-hour HR, MAP, O2Sat, Resp, Temp, SBP with 90 % intervals; values outside are flagged"
    raw_format = "physionet2019"
    ranges = RANGES_2019
    variables = PSV_FEATURES
    times = "hourly"
    ingest_node = "validate_stays"
    build_node = "build_next_hour_targets"
    headline_metrics = ("mae_z", "coverage")
    # Regression: no classes; two training stays at least (normalisation statistics, a batch).
    gate_minimums = {"unit": "patients", "min_samples": {"train": 2, "val": 1, "test": 1}}

    def build_model_input(self, clean_long: pd.DataFrame, hourly_labels: pd.DataFrame, params: dict,
                          split: Callable = split_groups) -> dict:  # fmt: skip
        """One sample per stay on its hourly grid; the targets are the next hour's six vitals.

        ``samples.model_input_store: arrow``: built from the prepared partitions under
        ``samples.prepared_cache`` instead (``build_stored_model_input``), the splits are store paths."""
        stored = self.stored_model_input_if_asked(params, split, hourly_labels)
        if stored is not None:
            return stored
        model_input = self.model_input_in_memory(clean_long, hourly_labels, params, causal=True, task_kind="forecast",
                                                 split=split, targets=TARGETS)  # fmt: skip
        lengths = {part: [len(s["y"]) for s in samples] for part, samples in model_input["splits"].items()}
        return self._finish(model_input, _sepsis_labels(hourly_labels), lengths)

    def partition_parts(self, clean_long: pd.DataFrame, hourly_labels: pd.DataFrame, params: dict):
        """``(sequences, labels_of, strata)`` of the stays in these tables (a cohort or a partition)."""
        grid = hourly_labels[["patient_id", "time_h"]]
        sequences = build_patient_sequences(clean_long, PSV_FEATURES, times=grid, max_hours=params.get("max_hours"))
        return sequences, lambda patient, seq, stats: _next_hour_targets(seq, stats), None

    def build_stored_model_input(self, prepared_cache: str | Path, params: dict, store_dir: str | Path | None = None,
                                 split: Callable = split_groups) -> dict:  # fmt: skip
        """``build_model_input`` from the prepared partitions into per-split Arrow stores
        (``tasks.vitals_stored``); the sepsis labels are read from the partitions' label tables."""
        model_input, _sums = stored_vitals_model_input(
            self, prepared_cache, params, lambda obs, labels: self.partition_parts(obs, labels, params),
            causal=True, task_kind="forecast", store_dir=store_dir, split=split, targets=TARGETS,
        )  # fmt: skip
        wanted = {p for ids in model_input["patients"].values() for p in ids}
        sepsis = {}
        for part in partition_numbers(prepared_cache):  # one byte per stay-hour is kept
            sepsis.update({p: y for p, y in _sepsis_labels(read_layer(prepared_cache, "labels", part)).items() if p in wanted})
        lengths = {part: open_split(path).lengths.tolist() if path else [] for part, path in model_input["splits"].items()}
        return self._finish(model_input, sepsis, lengths)

    @staticmethod
    def _finish(model_input: dict, sepsis: dict, lengths: dict) -> dict:
        model_input["n_classes"] = len(TARGETS)
        model_input["class_names"] = list(TARGETS)
        model_input["preprocessing"]["targets"] = list(TARGETS)
        # Sepsis labels are kept (local only) to report flag rates before onset.
        model_input["sepsis_labels"] = {part: [sepsis[p][:n] for p, n in zip(ids, lengths[part], strict=True)]
                                        for part, ids in model_input["patients"].items()}  # fmt: skip
        return model_input

    # ---------------------------------------------------------------------- outputs -> units
    @staticmethod
    def _denormalise(bundle: dict, outputs: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model output ``[T, 2K]`` (change + spread) and its input ``x`` -> next-hour mean and
        calibrated interval half-width in the vitals' units."""
        stats = bundle["preprocessing"]["normalisation"]
        index = [stats["variables"].index(v) for v in TARGETS]
        mean_, std_ = np.asarray(stats["mean"])[index], np.asarray(stats["std"])[index]
        k = len(TARGETS)
        z = np.asarray(bundle.get("calibration", {}).get("interval_z", [1.6449] * k))
        return (_carried(bundle, x) + outputs[:, :k]) * std_ + mean_, outputs[:, k:] * z * std_

    def calibrate(self, bundle: dict, model_input: dict) -> dict:
        """Per-vital interval multiplier: the 90 % quantile of |error| / spread on validation."""
        val = open_split(model_input["splits"]["val"])
        outputs = predict_samples(bundle, val)
        k = len(TARGETS)
        errors = np.concatenate([np.abs(np.asarray(s["y"]) - o[:, :k]) / o[:, k:] for s, o in zip(val, outputs)])
        z = [float(np.nanquantile(errors[:, j], INTERVAL)) if np.isfinite(errors[:, j]).any() else 1.6449
             for j in range(k)]  # fmt: skip
        return {**bundle, "calibration": {"interval_z": z, "level": INTERVAL, "fitted_on": "validation"}}

    def evaluate(self, bundle: dict, model_input: dict, history: list[dict]):
        """MAE per vital against LOCF and a 3-observation moving average, interval coverage, flags."""
        test = open_split(model_input["splits"]["test"])
        outputs = predict_samples(bundle, test)
        stats = bundle["preprocessing"]["normalisation"]
        index = [stats["variables"].index(v) for v in TARGETS]
        mean_, std_ = np.asarray(stats["mean"])[index], np.asarray(stats["std"])[index]
        rows = []
        for s, out, sepsis in zip(test, outputs, model_input["sepsis_labels"]["test"]):
            x = np.asarray(s["x"])
            truth = (_carried(bundle, x) + np.asarray(s["y"])) * std_ + mean_  # next hour, in units
            current = np.vstack([np.full((1, len(TARGETS)), np.nan), truth[:-1]])  # observed at step t
            locf, moving = _baselines(current)
            predicted, half = self._denormalise(bundle, out, x)
            pre_onset = np.zeros(len(truth), dtype=bool)
            onset_rows = np.flatnonzero(sepsis > 0)
            pre_onset[onset_rows[:PRE_ONSET_HOURS]] = True
            rows.append((truth, predicted, half, locf, moving, np.roll(pre_onset, -1)))
        truth, predicted, half, locf, moving, pre = (np.concatenate([r[i] for r in rows]) for i in range(6))
        scores, baseline_locf, baseline_ma = {}, {}, {}
        comparable = np.isfinite(truth) & np.isfinite(locf) & np.isfinite(moving)
        for j, vital in enumerate(TARGETS):
            ok = comparable[:, j]
            scores[f"mae_{vital}"] = float(np.mean(np.abs(predicted[ok, j] - truth[ok, j]))) if ok.any() else float("nan")
            baseline_locf[f"mae_{vital}"] = float(np.mean(np.abs(locf[ok, j] - truth[ok, j]))) if ok.any() else float("nan")
            baseline_ma[f"mae_{vital}"] = float(np.mean(np.abs(moving[ok, j] - truth[ok, j]))) if ok.any() else float("nan")
            observed = np.isfinite(truth[:, j])
            scores[f"coverage_{vital}"] = float(np.mean(np.abs(truth[observed, j] - predicted[observed, j]) <= half[observed, j]))
        for name, source in (("mae_z", scores), ("locf", baseline_locf), ("ma", baseline_ma)):
            values = [source[f"mae_{v}"] / s for v, s in zip(TARGETS, std_)]
            (scores if name == "mae_z" else source)["mae_z"] = float(np.nanmean(values))
        observed = np.isfinite(truth)
        flagged = observed & (np.abs(truth - predicted) > half)
        scores["coverage"] = float(1 - flagged.sum() / max(observed.sum(), 1))
        scores["coverage_gap"] = abs(scores["coverage"] - INTERVAL)
        patient_days = len(truth) / 24.0
        any_flag = flagged.any(axis=1)
        scores["flags_per_patient_day"] = float(flagged.sum() / max(patient_days, 1e-9))
        scores["flag_rate_pre_sepsis"] = float(any_flag[pre].mean()) if pre.any() else float("nan")
        scores["flag_rate_other_hours"] = float(any_flag[~pre].mean()) if (~pre).any() else float("nan")
        metrics = metrics_document(
            self.name, model_input, bundle, scores, unit="patient-hour-vital", interval=INTERVAL, targets=TARGETS,
            baseline={"locf": baseline_locf, "moving_average_3": baseline_ma},
            n_pre_sepsis_hours=int(pre.sum()), data_fingerprint=model_input["fingerprint"]["sha256"],
        )  # fmt: skip
        long = pd.DataFrame({
            "patient_id": np.repeat(np.repeat(model_input["patients"]["test"], [len(r[0]) for r in rows]), len(TARGETS)),
            "variable": np.tile(TARGETS, len(truth)), "observed_next": truth.ravel(), "expected": predicted.ravel(),
            "lower": (predicted - half).ravel(), "upper": (predicted + half).ravel(), "irregular": flagged.ravel(),
        })  # fmt: skip
        figures = {**learning_curves_figure(history, self.name),
                   **_mae_figure(scores, baseline_locf, baseline_ma),
                   **_example_figure(rows[0][0], rows[0][1], rows[0][2])}  # fmt: skip
        return metrics, long, figures

    # ------------------------------------------------------------------------------ serving
    def response_columns(self, bundle: dict) -> list[tuple[str, str]]:
        return [("string", "patient_id"), ("double", "time"), ("string", "variable"), ("double", "observed"),
                ("double", "expected"), ("double", "lower"), ("double", "upper"), ("boolean", "irregular"),
                ("double", "next_expected"), ("double", "next_lower"), ("double", "next_upper")]  # fmt: skip

    def predict_request(self, model, bundle: dict, frame: pd.DataFrame, limits: dict) -> pd.DataFrame:
        """One row per patient, hour and vital: the value observed then, what the previous hour
        expected (interval, ``irregular`` when outside), and the forecast for the next hour."""
        clean = vitals_long_table(frame, bundle["preprocessing"], self.ranges, limits)
        patients, samples, times = vitals_samples(clean, bundle["preprocessing"], "forecast")
        outputs = predict_samples(model, samples)
        parts = []
        for patient, sample, out, hours in zip(patients, samples, outputs, times):
            predicted, half = self._denormalise(bundle, out, sample["x"])
            seen = clean[(clean["patient_id"] == patient) & clean["variable"].isin(TARGETS)]
            observed = seen.pivot_table(index="time_h", columns="variable", values="value", aggfunc="last")
            observed = observed.reindex(index=hours, columns=TARGETS).to_numpy(dtype=np.float64)
            expected = np.vstack([np.full((1, len(TARGETS)), np.nan), predicted[:-1]])
            width = np.vstack([np.full((1, len(TARGETS)), np.nan), half[:-1]])
            lower, upper = expected - width, expected + width
            parts.append(pd.DataFrame({
                "patient_id": patient, "time": np.repeat(hours.astype(np.float64), len(TARGETS)),
                "variable": np.tile(TARGETS, len(hours)), "observed": observed.ravel(), "expected": expected.ravel(),
                "lower": lower.ravel(), "upper": upper.ravel(),
                # exactly "outside the interval as sent": the comparison the reader will make
                "irregular": ((observed < lower) | (observed > upper)).ravel(),
                "next_expected": predicted.ravel(), "next_lower": (predicted - half).ravel(),
                "next_upper": (predicted + half).ravel(),
            }))  # fmt: skip
        return pd.concat(parts, ignore_index=True)

    def write_demo(self, folder: Path, seed: int = 0) -> None:
        write_sepsis_demo(folder, seed + 7)  # PhysioNet 2019 format, other stays than vitals_sepsis'


TASK = VitalsForecastTask()
