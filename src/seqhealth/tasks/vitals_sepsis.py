"""``vitals_sepsis``: causal hourly early warning of sepsis (PhysioNet 2019 ``.psv``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from seqhealth.batching.arrow_store import open_split
from seqhealth.engine.calibration import calibration_summary
from seqhealth.engine.evaluation import metrics_document
from seqhealth.engine.fit import predict_samples
from seqhealth.models.metrics import binary_metrics, physionet2019_utility
from seqhealth.reporting import learning_curves_figure, roc_pr_figures
from seqhealth.splits import split_groups
from seqhealth.tasks.vitals_common import VitalsTask
from seqhealth.tasks.vitals_stored import stored_vitals_model_input
from seqhealth.vitals.baselines import summary_baselines
from seqhealth.vitals.demo import write_sepsis_demo
from seqhealth.vitals.features import build_patient_sequences
from seqhealth.vitals.schema import PSV_FEATURES, RANGES_2019
from seqhealth.vitals.streamed_input import float32_mean


def hourly_sequences(clean_long: pd.DataFrame, hourly_labels: pd.DataFrame, params: dict) -> dict:
    """Each stay on its hourly ``.psv`` grid (the rows of its file)."""
    grid = hourly_labels[["patient_id", "time_h"]]
    return build_patient_sequences(clean_long, PSV_FEATURES, times=grid, max_hours=params.get("max_hours"))


def best_utility_threshold(labels: list[np.ndarray], probs: list[np.ndarray]) -> float:
    """The alarm threshold with the highest normalised utility on VALIDATION patients."""
    pooled = np.concatenate(probs)
    candidates = np.unique(np.quantile(pooled, np.linspace(0.5, 0.995, 40)))
    scores = [physionet2019_utility(labels, probs, threshold=t) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def lead_labels(labels: np.ndarray, hours: int) -> np.ndarray:
    """``labels`` with their first positive hour moved ``hours`` earlier (a copy; unchanged when
    there is none or ``hours`` is 0). The 2019 label is 1 from 6 h before onset while the utility
    rewards alarms from 12 h before: a training target that starts earlier teaches earlier risk."""
    positive = np.flatnonzero(np.asarray(labels) > 0)
    if hours <= 0 or positive.size == 0:
        return labels
    led = np.array(labels, copy=True)
    led[max(0, int(positive[0]) - int(hours)) : positive[0]] = 1
    return led


class LeadTarget:
    """``samples.train_label_lead_hours`` as the builders' ``train_target``: only the training
    patients get it, so calibration, the training monitor (validation AUPRC), the alert threshold
    and every reported metric use the original labels. It sums the ORIGINAL training labels it
    sees, so the metrics' prevalence baseline stays that of the labels, not of the target."""

    def __init__(self, hours: int):
        self.hours, self.sum, self.n = int(hours), 0.0, 0

    def __call__(self, labels: np.ndarray) -> np.ndarray:
        self.sum += float(np.sum(labels))
        self.n += int(np.size(labels))
        return lead_labels(labels, self.hours)

    @staticmethod
    def of(params: dict) -> LeadTarget | None:
        hours = int(params.get("train_label_lead_hours") or 0)
        if hours < 0:
            raise ValueError(
                f"vitals_sepsis: samples.train_label_lead_hours must be >= 0, got {hours}"
            )
        return None if hours == 0 else LeadTarget(hours)

    def record(self, model_input: dict) -> None:
        model_input["train_label_lead_hours"] = self.hours
        model_input["train_label_prevalence"] = float(self.sum / max(self.n, 1))


class VitalsSepsisTask(VitalsTask):
    name = "vitals_sepsis"
    summary = "hourly sepsis risk, causal: each hour sees only the past (PhysioNet 2019 .psv)"
    raw_format = "physionet2019"
    ranges = RANGES_2019
    variables = PSV_FEATURES
    times = "hourly"
    ingest_node = "validate_stays"
    build_node = "build_normalised_hourly_sequences"
    headline_metrics = ("auroc", "patient_auroc", "utility", "brier_skill")
    static_variables = ("Age", "Gender", "Unit1", "Unit2")
    default_alert = {"rule": "max_utility"}
    # Septic and non-septic hours in every split (a cohort without a septic hour cannot train).
    gate_minimums = {"unit": "hours"}

    def build_model_input(self, clean_long: pd.DataFrame, hourly_labels: pd.DataFrame, params: dict,
                          split: Callable = split_groups) -> dict:  # fmt: skip
        """One sample per stay on its hourly grid; the target is the per-hour ``SepsisLabel``.

        ``samples.model_input_store: arrow``: built from the prepared partitions under
        ``samples.prepared_cache`` instead (``build_stored_model_input``; the tables passed in are
        not turned into samples), the splits are Arrow store paths."""
        stored = self.stored_model_input_if_asked(params, split, hourly_labels)
        if stored is not None:
            return stored
        lead = LeadTarget.of(params)
        model_input = self.model_input_in_memory(clean_long, hourly_labels, params, causal=True, task_kind="tagging",
                                                 split=split, train_target=lead)  # fmt: skip
        if lead is not None:
            lead.record(model_input)
        model_input["pos_weight"] = self.inverse_odds(model_input["splits"]) ** float(params.get("pos_weight_power", 1.0))
        return model_input

    def partition_parts(self, clean_long: pd.DataFrame, hourly_labels: pd.DataFrame, params: dict):
        """``(sequences, labels_of, strata)`` of the stays in these tables (a cohort or one of its
        partitions): the hourly sequences, their per-hour labels and whether a stay is septic."""
        sequences = hourly_sequences(clean_long, hourly_labels, params)
        ordered = hourly_labels.sort_values(["patient_id", "time_h"])
        ids, starts = np.unique(ordered["patient_id"].to_numpy(), return_index=True)
        label_arrays = {str(p): y for p, y in zip(ids, np.split(ordered["label"].to_numpy(dtype=np.float32), starts[1:]), strict=True)}
        strata = {p: int(label_arrays[p].max() > 0) for p in sequences}
        return sequences, lambda patient, seq, stats: label_arrays[patient][: len(seq["times"])], strata

    def build_stored_model_input(self, prepared_cache: str | Path, params: dict, store_dir: str | Path | None = None,
                                 split: Callable = split_groups) -> dict:  # fmt: skip
        """``build_model_input`` from the prepared partitions, the samples streamed into per-split
        Arrow stores (``tasks.vitals_stored``): same samples and weights, ``splits`` are paths."""
        lead = LeadTarget.of(params)
        model_input, sums = stored_vitals_model_input(
            self, prepared_cache, params, lambda obs, labels: self.partition_parts(obs, labels, params),
            causal=True, task_kind="tagging", store_dir=store_dir, split=split,
            train_target=lead,
        )  # fmt: skip
        if lead is not None:
            lead.record(model_input)
        prevalence = float32_mean(sums["sum"], sums["n"])
        model_input["pos_weight"] = self.odds_weight(prevalence) ** float(params.get("pos_weight_power", 1.0))
        return model_input

    def alert_rule(self, model_input: dict, labels: list, risks: list) -> dict:
        """``samples.alert``: ``{rule: max_utility}`` (default: the threshold with the highest 2019
        utility on the VALIDATION patients), ``{specificity: s}`` (hourly) or ``{threshold: t}``."""
        chosen = model_input.get("alert") or self.default_alert
        if chosen.get("rule", "max_utility") == "max_utility" and "threshold" not in chosen and "specificity" not in chosen:
            return {"threshold": best_utility_threshold(labels, risks),
                    "rule": "highest normalised utility on the validation patients"}  # fmt: skip
        return super().alert_rule(model_input, labels, risks)

    def icu_unit(self, info: pd.DataFrame) -> pd.Series:
        unit = pd.Series("unknown", index=info.index)
        unit[info["Unit1"] == 1] = "medical (MICU)"
        unit[info["Unit2"] == 1] = "surgical (SICU)"
        return unit

    def evaluate(self, bundle: dict, model_input: dict, history: list[dict]):
        """Per-hour AUROC/AUPRC, patient-level AUROC (max hourly risk) and the 2019 utility score
        at the bundle's alert threshold, on calibrated risks; alert and subgroup reports."""
        threshold = self.alert_threshold(bundle)
        test = open_split(model_input["splits"]["test"])
        raw = predict_samples(bundle, test)
        probs = self.risks(bundle, raw)
        labels = [np.asarray(s["y"]) for s in test]
        hourly_y, hourly_p = np.concatenate(labels), np.concatenate(probs)
        if "train_label_prevalence" in model_input:
            # Trained on led labels: the baseline is the prevalence of the labels themselves.
            train_y = np.asarray([model_input["train_label_prevalence"]])
        else:
            train_y = np.concatenate(
                [np.asarray(s["y"]) for s in open_split(model_input["splits"]["train"])]
            )
        baseline = {**self.risk_baseline(train_y, hourly_y), "utility": 0.0}
        reports, reliability = self.risk_reports(bundle, model_input, raw, probs, baseline["brier"],
                                                 len(hourly_y) / 24.0, hourly=True)  # fmt: skip
        scores = self.scores(labels, probs, threshold, baseline["brier"])
        metrics = metrics_document(
            self.name, model_input, bundle, scores, unit="hour", threshold=threshold, n_test_hours=int(len(hourly_y)),
            baseline=baseline,
            # What a hospital data team tries first (vitals/baselines.py): per-hour models on the
            # statistics up to each hour (causal), fitted on the training hours, same split.
            baselines=summary_baselines(model_input, True, self.threshold_chooser(model_input),
                                        lambda risks, t: self.scores(labels, risks, t, baseline["brier"])),
            data_fingerprint=model_input["fingerprint"]["sha256"], **reports,
        )  # fmt: skip
        predictions = pd.DataFrame(
            {
                "patient_id": np.repeat(model_input["patients"]["test"], [len(lab) for lab in labels]),
                "hour_index": np.concatenate([np.arange(len(lab)) for lab in labels]),
                "sepsis_label": hourly_y.astype(np.int8),
                "risk": hourly_p.astype(np.float32),
                "alert": hourly_p >= threshold,
            }
        )
        figures = {**roc_pr_figures(hourly_y, hourly_p, f"{self.name} (per hour)"), **reliability,
                   **learning_curves_figure(history, self.name)}  # fmt: skip
        return metrics, predictions, figures

    @staticmethod
    def scores(labels: list, risks: list, threshold: float, baseline_brier: float) -> dict:
        """The test figures quoted for any hourly risk (the model's or a baseline's): per-hour metrics,
        patient AUROC of the max hourly risk, the 2019 utility at ``threshold``, calibration."""
        hourly_y, hourly_p = np.concatenate(labels), np.concatenate(risks)
        patient_y = np.asarray([int(lab.max() > 0) for lab in labels])
        calibration = calibration_summary(hourly_y, hourly_p, baseline_brier)
        return {
            **binary_metrics(hourly_y, hourly_p, threshold=threshold),
            "patient_auroc": float(roc_auc_score(patient_y, [float(p.max()) for p in risks]))
            if len(set(patient_y)) == 2 else float("nan"),
            "utility": physionet2019_utility(labels, risks, threshold=threshold),
            **{k: calibration[k] for k in ("brier_skill", "ece", "calibration_slope", "calibration_intercept")},
        }

    # ------------------------------------------------------------------------------ serving
    def response_columns(self, bundle: dict) -> list[tuple[str, str]]:
        return [("string", "patient_id"), ("double", "time"), ("double", "risk"), ("boolean", "alert")]

    def predict_request(self, model, bundle: dict, frame: pd.DataFrame, limits: dict) -> pd.DataFrame:
        """One row per patient-hour: ``patient_id, time``, calibrated ``risk``, ``alert``."""
        patients, outputs, times, _clean = self.encoded_request(model, bundle, frame, limits)
        risk = np.concatenate(self.risks(bundle, outputs)).astype(np.float64) if patients else np.zeros(0)
        return pd.DataFrame(
            {
                "patient_id": np.repeat(np.asarray(patients, dtype=object), [len(t) for t in times]),
                "time": np.concatenate(times).astype(np.float64) if patients else np.zeros(0),
                "risk": risk,
                "alert": risk >= self.alert_threshold(bundle),
            }
        )

    def write_demo(self, folder: Path, seed: int = 0) -> None:
        write_sepsis_demo(folder, seed)


TASK = VitalsSepsisTask()
