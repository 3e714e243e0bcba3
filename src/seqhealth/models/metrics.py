"""Final-evaluation metrics on numpy arrays (sklearn), and the PhysioNet 2019 utility score."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    matthews_corrcoef,
    roc_auc_score,
    roc_curve,
)


def sens_at_spec(y: np.ndarray, p: np.ndarray, specificity: float = 0.90) -> float:
    """Highest sensitivity reachable with specificity >= ``specificity``."""
    y, p = np.asarray(y).astype(int), np.asarray(p, dtype=float)
    fpr, tpr, _ = roc_curve(y, p)
    allowed = fpr <= 1.0 - specificity + 1e-12
    return float(tpr[allowed].max()) if allowed.any() else 0.0


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """Threshold maximising F1 (pick it on validation, apply it to test)."""
    y, p = np.asarray(y).astype(int), np.asarray(p, dtype=float)
    candidates = np.unique(p)
    if len(candidates) > 200:
        candidates = np.quantile(p, np.linspace(0, 1, 201))
    scores = [f1_score(y, p >= t, zero_division=0) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict:
    """auroc, auprc, mcc, f1 (at ``threshold``), brier, sens_at_90_spec, prevalence, n."""
    y, p = np.asarray(y).astype(int).ravel(), np.asarray(p, dtype=float).ravel()
    if len(y) != len(p):
        raise ValueError(f"binary_metrics: {len(y)} labels but {len(p)} probabilities")
    both_classes = len(np.unique(y)) == 2
    predicted = (p >= threshold).astype(int)
    return {
        "auroc": float(roc_auc_score(y, p)) if both_classes else float("nan"),
        "auprc": float(average_precision_score(y, p)) if both_classes else float("nan"),
        "mcc": float(matthews_corrcoef(y, predicted)),
        "f1": float(f1_score(y, predicted, zero_division=0)),
        "brier": float(brier_score_loss(y, p)),
        "sens_at_90_spec": sens_at_spec(y, p, 0.90) if both_classes else float("nan"),
        "threshold": float(threshold),
        "prevalence": float(y.mean()) if len(y) else float("nan"),
        "n": int(len(y)),
    }


def multiclass_metrics(y: np.ndarray, probabilities: np.ndarray) -> dict:
    """accuracy and macro F1 from class probabilities ``[N, C]``."""
    y = np.asarray(y).astype(int).ravel()
    predicted = np.asarray(probabilities).argmax(-1).ravel()
    return {
        "accuracy": float(accuracy_score(y, predicted)),
        "macro_f1": float(f1_score(y, predicted, average="macro", zero_division=0)),
        "n": int(len(y)),
    }


# PhysioNet/CinC 2019 challenge constants (evaluate_sepsis_score.py).
DT_EARLY, DT_OPTIMAL, DT_LATE = -12, -6, 3.0
MAX_U_TP, MIN_U_FN, U_FP, U_TN = 1.0, -2.0, -0.05, 0.0


def patient_utility(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Total utility of one patient's binary hourly predictions (port of the official
    ``compute_prediction_utility``, vectorised; same piecewise-linear rules)."""
    labels = np.asarray(labels).astype(int)
    predictions = np.asarray(predictions).astype(int)
    n = len(labels)
    t = np.arange(n, dtype=float)
    if not labels.any():
        # Never septic: every positive prediction is a false alarm.
        return float(np.where(predictions == 1, U_FP, U_TN).sum())
    # Labels turn 1 six hours before onset, so onset = first positive - dt_optimal.
    t_sepsis = float(np.argmax(labels)) - DT_OPTIMAL
    m_1 = MAX_U_TP / (DT_OPTIMAL - DT_EARLY)
    b_1 = -m_1 * DT_EARLY
    m_2 = -MAX_U_TP / (DT_LATE - DT_OPTIMAL)
    b_2 = -m_2 * DT_LATE
    m_3 = MIN_U_FN / (DT_LATE - DT_OPTIMAL)
    b_3 = -m_3 * DT_OPTIMAL
    rel = t - t_sepsis
    up_to_optimal = t <= t_sepsis + DT_OPTIMAL
    up_to_late = t <= t_sepsis + DT_LATE
    positive = predictions == 1
    u = np.zeros(n)
    tp_early = positive & up_to_optimal
    u[tp_early] = np.maximum(m_1 * rel[tp_early] + b_1, U_FP)
    tp_late = positive & ~up_to_optimal & up_to_late
    u[tp_late] = m_2 * rel[tp_late] + b_2
    fn_late = ~positive & ~up_to_optimal & up_to_late
    u[fn_late] = m_3 * rel[fn_late] + b_3
    # After t_sepsis + dt_late nothing counts, as in the official code.
    return float(u.sum())


def physionet2019_utility(
    labels_by_patient: Sequence[np.ndarray],
    preds_by_patient: Sequence[np.ndarray],
    threshold: float | None = None,
) -> float:
    """Normalised utility: (observed - inaction) / (best - inaction); 1 = perfect, 0 = no alarms.

    ``preds_by_patient`` are binary, or probabilities binarised with ``p >= threshold``.
    """
    if len(labels_by_patient) != len(preds_by_patient):
        raise ValueError(
            f"physionet2019_utility: {len(labels_by_patient)} patients with labels but "
            f"{len(preds_by_patient)} with predictions")
    observed = best = inaction = 0.0
    for k, (labels, preds) in enumerate(zip(labels_by_patient, preds_by_patient, strict=True)):
        labels, preds = np.asarray(labels), np.asarray(preds)
        if len(labels) != len(preds):
            raise ValueError(f"physionet2019_utility: patient {k} has {len(labels)} labels "
                             f"but {len(preds)} predictions")
        if threshold is not None:
            preds = (preds >= threshold).astype(int)
        elif not np.isin(preds, (0, 1)).all():
            raise ValueError(f"physionet2019_utility: patient {k}: predictions must be 0/1 "
                             "(or pass threshold= for probabilities)")
        n = len(labels)
        best_preds = np.zeros(n, dtype=int)
        if np.any(labels):
            t_sepsis = int(np.argmax(labels)) - DT_OPTIMAL
            start, stop = max(0, t_sepsis + DT_EARLY), min(int(t_sepsis + DT_LATE) + 1, n)
            best_preds[start:stop] = 1
        observed += patient_utility(labels, preds)
        best += patient_utility(labels, best_preds)
        inaction += patient_utility(labels, np.zeros(n, dtype=int))
    if best == inaction:
        # No septic patient: the official formula divides by zero here.
        return float("nan")
    return (observed - inaction) / (best - inaction)
