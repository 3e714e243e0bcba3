"""Vitals tasks: stay-level mortality (PhysioNet 2012) and causal hourly sepsis warning (2019)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from seqhealth.models.metrics import binary_metrics, physionet2019_utility
from seqhealth.reporting import learning_curves_figure, reliability_figure, roc_pr_figures
from seqhealth.splits import split_groups
from seqhealth.tasks.evaluation import metrics_document, prevalence_baseline
from seqhealth.tasks.fingerprint import samples_fingerprint
from seqhealth.tasks.fit import predict_samples
from seqhealth.vitals.features import (
    CHANNELS,
    apply_features,
    build_patient_sequences,
    feature_names,
    fit_normalisation,
)
from seqhealth.vitals.schema import P2012_FEATURES, PSV_FEATURES


def _vitals_model_input(task, sequences, labels_of, strata, params, variables, times, causal, task_kind,
                        assignment=None):
    """Split patients (or take ``assignment``: patient -> split), fit normalisation on train
    patients only, then build the samples."""
    patients = sorted(sequences)
    if assignment is None:
        assignment = split_groups(patients, params.get("split"), seed=int(params.get("seed", 0)), strata=strata)
    train_ids = [p for p in patients if assignment[p] == "train"]
    stats = fit_normalisation(sequences, train_ids)
    channels = list(params.get("channels") or CHANNELS)
    splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
    patient_order: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for patient in patients:
        seq = sequences[patient]
        x = apply_features(seq, stats, channels=channels)
        splits[assignment[patient]].append({"x": x, "y": labels_of(patient, seq), "length": len(x)})
        patient_order[assignment[patient]].append(patient)
    positives = np.concatenate([np.atleast_1d(s["y"]) for s in splits["train"]])
    prevalence = float(positives.mean())
    return {
        "task": task,
        "task_kind": task_kind,
        "n_classes": 1,
        "input_kind": "features",
        "input_size": int(splits["train"][0]["x"].shape[1]),
        "causal": causal,
        # Deaths are ~14 % and septic hours ~2 %: weight positives by the inverse odds.
        "pos_weight": (1 - prevalence) / max(prevalence, 1e-6),
        "splits": splits,
        "patients": patient_order,  # local only: never logged to MLflow
        "preprocessing": {
            "kind": "vitals",
            "variables": list(variables),
            "feature_names": feature_names(list(variables), channels),
            "channels": channels,
            "normalisation": {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in stats.items()},
            "times": times,
            "max_hours": params.get("max_hours"),
            "step_hours": params.get("step_hours"),
        },
        "class_names": ["negative", "positive"],
        "fingerprint": samples_fingerprint(splits),
    }


# ------------------------------------------------------------------------ vitals_mortality


def build_mortality_model_input(
    clean_long: pd.DataFrame, labels: pd.DataFrame, params: dict, assignment: dict | None = None
) -> dict:
    """One sample per stay: its first ``max_hours`` hours -> in-hospital death.

    Steps are the stay's own observation times, binned to ``step_hours`` when set (see
    ``parameters_vitals_mortality.yml`` for the measured effect); ``channels`` picks the input
    feature groups (``vitals.features.CHANNELS``; default all).
    ``assignment`` (patient id -> train/val/test) replaces the seeded split, e.g. for one fold of
    ``tasks.cross_validation``."""
    sequences = build_patient_sequences(clean_long, P2012_FEATURES, max_hours=params.get("max_hours", 48),
                                        step_hours=params.get("step_hours"))
    label_of = dict(zip(labels["patient_id"].astype(str), labels["label"].astype(int)))
    sequences = {p: s for p, s in sequences.items() if p in label_of}
    return _vitals_model_input(
        "vitals_mortality",
        sequences,
        lambda patient, seq: label_of[patient],
        {p: label_of[p] for p in sequences},
        params,
        P2012_FEATURES,
        times="observed",
        causal=False,
        task_kind="sequence",
        assignment=assignment,
    )


def evaluate_mortality(bundle: dict, model_input: dict, history: list[dict]):
    """AUROC, AUPRC, sensitivity at 90 % specificity and calibration on held-out patients."""
    test = model_input["splits"]["test"]
    y = np.asarray([int(s["y"]) for s in test])
    prob = np.asarray(predict_samples(bundle, test), dtype=np.float64).ravel()
    train_y = np.asarray([int(s["y"]) for s in model_input["splits"]["train"]])
    metrics = metrics_document(
        "vitals_mortality",
        model_input,
        bundle,
        binary_metrics(y, prob),
        unit="patient",
        baseline=prevalence_baseline(train_y, y),
        data_fingerprint=model_input["fingerprint"]["sha256"],
    )
    predictions = pd.DataFrame(
        {"patient_id": model_input["patients"]["test"], "label": y, "risk": prob.astype(np.float32)}
    )
    figures = {
        **roc_pr_figures(y, prob, "vitals_mortality"),
        **reliability_figure(y, prob, "vitals_mortality"),
        **learning_curves_figure(history, "vitals_mortality"),
    }
    return metrics, predictions, figures


# --------------------------------------------------------------------------- vitals_sepsis


def build_sepsis_model_input(clean_long: pd.DataFrame, hourly_labels: pd.DataFrame, params: dict) -> dict:
    """One sample per stay on its hourly grid; the target is the per-hour ``SepsisLabel``."""
    grid = hourly_labels[["patient_id", "time_h"]]
    sequences = build_patient_sequences(clean_long, PSV_FEATURES, times=grid, max_hours=params.get("max_hours"))
    ordered = hourly_labels.sort_values(["patient_id", "time_h"])
    label_arrays = {
        str(p): frame["label"].to_numpy(dtype=np.float32) for p, frame in ordered.groupby("patient_id", sort=False)
    }

    def labels_of(patient, seq):
        return label_arrays[patient][: len(seq["times"])]

    return _vitals_model_input(
        "vitals_sepsis",
        sequences,
        labels_of,
        {p: int(label_arrays[p].max() > 0) for p in sequences},
        params,
        PSV_FEATURES,
        times="hourly",
        causal=True,
        task_kind="tagging",
    )


def _best_utility_threshold(labels: list[np.ndarray], probs: list[np.ndarray]) -> float:
    """The alarm threshold with the highest normalised utility on VALIDATION patients."""
    pooled = np.concatenate(probs)
    candidates = np.unique(np.quantile(pooled, np.linspace(0.5, 0.995, 40)))
    scores = [physionet2019_utility(labels, probs, threshold=t) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def evaluate_sepsis(bundle: dict, model_input: dict, history: list[dict]):
    """Per-hour AUROC/AUPRC, patient-level AUROC (max hourly risk) and the 2019 utility score."""
    val = model_input["splits"]["val"]
    val_probs = predict_samples(bundle, val)
    threshold = _best_utility_threshold([s["y"] for s in val], val_probs)
    test = model_input["splits"]["test"]
    probs = predict_samples(bundle, test)
    labels = [np.asarray(s["y"]) for s in test]
    hourly_y, hourly_p = np.concatenate(labels), np.concatenate(probs)
    scores = binary_metrics(hourly_y, hourly_p, threshold=threshold)
    patient_y = np.asarray([int(lab.max() > 0) for lab in labels])
    patient_p = np.asarray([float(p.max()) for p in probs])
    scores["patient_auroc"] = float(roc_auc_score(patient_y, patient_p)) if len(set(patient_y)) == 2 else float("nan")
    scores["utility"] = physionet2019_utility(labels, probs, threshold=threshold)
    train_y = np.concatenate([s["y"] for s in model_input["splits"]["train"]])
    metrics = metrics_document(
        "vitals_sepsis",
        model_input,
        bundle,
        scores,
        unit="hour",
        threshold=threshold,
        n_test_hours=int(len(hourly_y)),
        baseline={**prevalence_baseline(train_y, hourly_y), "utility": 0.0},
        data_fingerprint=model_input["fingerprint"]["sha256"],
    )
    predictions = pd.DataFrame(
        {
            "patient_id": np.repeat(model_input["patients"]["test"], [len(lab) for lab in labels]),
            "hour_index": np.concatenate([np.arange(len(lab)) for lab in labels]),
            "sepsis_label": hourly_y.astype(np.int8),
            "risk": hourly_p.astype(np.float32),
        }
    )
    figures = {**roc_pr_figures(hourly_y, hourly_p, "vitals_sepsis (per hour)"), **learning_curves_figure(history, "vitals_sepsis")}
    return metrics, predictions, figures
