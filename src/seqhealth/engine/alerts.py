"""Alert reports: what an alert rule costs and buys, read off before go-live.

A threshold is chosen on VALIDATION risks for each target specificity (80 / 90 / 95 %), then
measured on the TEST split: specificity reached, sensitivity, PPV, alerts per 100 patient-days and
(early warning) how many hours before onset the first alert came. The operating point a clinician
picks is a task parameter (``samples.alert``); its threshold is stored in the bundle (``alert``)
and serving returns an ``alert`` flag with every risk.
"""

from __future__ import annotations

import numpy as np

SPECIFICITIES = (0.80, 0.90, 0.95)


def threshold_at_specificity(y: np.ndarray, risk: np.ndarray, specificity: float) -> float:
    """A threshold whose alerts (``risk >= t``) keep specificity >= ``specificity`` on (``y``,
    ``risk``) and alert on every risk seen above it: just above the ``specificity`` quantile of the
    negatives' risks (and its ties)."""
    y, risk = np.asarray(y, dtype=int).ravel(), np.asarray(risk, dtype=np.float64).ravel()
    negatives = np.sort(risk[y == 0])
    if negatives.size == 0:
        return float(np.max(risk)) if risk.size else 0.5
    k = int(np.ceil(specificity * negatives.size)) - 1  # this many negatives (and ties) stay silent
    t = negatives[min(max(k, 0), negatives.size - 1)]
    # Half-way to the next higher risk seen: a risk just above a tied (e.g. isotonic) step on new
    # patients does not alert by a hair.
    above = risk[risk > t]
    return float((t + above.min()) / 2) if above.size else float(np.nextafter(t, np.inf))


def alert_counts(y: np.ndarray, risk: np.ndarray, threshold: float) -> dict:
    """Sensitivity, specificity, PPV and the number of alerts at ``risk >= threshold``."""
    y, alert = np.asarray(y, dtype=int).ravel(), np.asarray(risk, dtype=np.float64).ravel() >= threshold
    tp, fp = int((alert & (y == 1)).sum()), int((alert & (y == 0)).sum())
    pos, neg = int((y == 1).sum()), int((y == 0).sum())
    return {
        "sensitivity": tp / pos if pos else float("nan"),
        "specificity": 1 - fp / neg if neg else float("nan"),
        "ppv": tp / (tp + fp) if tp + fp else float("nan"),
        "alerts": int(alert.sum()),
    }


def warning_hours(labels: list[np.ndarray], risks: list[np.ndarray], threshold: float, label_lead: int = 6) -> dict:
    """Hourly early warning: per septic stay, hours from the first alert to onset.

    PhysioNet 2019 labels turn 1 ``label_lead`` hours before the clinical onset, so onset is the
    first positive hour + ``label_lead``. A stay counts as warned when an alert came at or before
    onset; ``median_warning_hours`` is over warned stays.
    """
    warned, lead = 0, []
    septic = 0
    for lab, risk in zip(labels, risks, strict=True):
        lab = np.asarray(lab)
        if not lab.any():
            continue
        septic += 1
        onset = int(np.argmax(lab)) + label_lead
        alerts = np.flatnonzero(np.asarray(risk) >= threshold)
        alerts = alerts[alerts <= onset]
        if alerts.size:
            warned += 1
            lead.append(onset - int(alerts[0]))
    return {
        "septic_stays": septic,
        "warned_before_onset": warned / septic if septic else float("nan"),
        "median_warning_hours": float(np.median(lead)) if lead else float("nan"),
    }


def alert_episodes(risks: list[np.ndarray], threshold: float) -> int:
    """Alarms a bedside system would raise: a new one each time a stay's risk crosses the threshold."""
    total = 0
    for risk in risks:
        on = np.asarray(risk, dtype=np.float64) >= threshold
        total += int(on[0]) + int((on[1:] & ~on[:-1]).sum()) if on.size else 0
    return total


def alert_table(val_y, val_risk, test_y, test_risk, patient_days: float, specificities=SPECIFICITIES,
                hourly: dict | None = None) -> list[dict]:  # fmt: skip
    """One row per target specificity: the threshold chosen on validation, measured on test.

    ``hourly`` (early warning): ``{"val_labels", "val_risks", "test_labels", "test_risks"}`` per
    stay; adds alarm episodes (threshold crossings) and the hours of warning before onset.
    """
    rows = []
    for target in specificities:
        t = threshold_at_specificity(val_y, val_risk, target)
        counts = alert_counts(test_y, test_risk, t)
        row = {"target_specificity": target, "threshold": t, **counts,
               "alerts_per_100_patient_days": 100.0 * counts["alerts"] / patient_days if patient_days else float("nan")}
        if hourly is not None:
            episodes = alert_episodes(hourly["test_risks"], t)
            row["alarm_episodes_per_100_patient_days"] = 100.0 * episodes / patient_days if patient_days else float("nan")
            row.update(warning_hours(hourly["test_labels"], hourly["test_risks"], t))
        rows.append(row)
    return rows
