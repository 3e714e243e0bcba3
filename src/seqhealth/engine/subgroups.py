"""Subgroup report: discrimination and calibration per group of patients, with counts.

Each row is one group of one variable (age band, sex, ICU unit ...): patients, positives, AUROC,
Brier, ECE, mean risk against the observed rate, calibration slope/intercept. A group with fewer
than ``MIN_EVENTS`` positives or negatives is flagged ``too_small``: its AUROC and calibration
move by more than they could tell (its figures are still shown, never hidden).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from seqhealth.engine.calibration import calibration_slope_intercept, ece

MIN_EVENTS = 10  # positives AND negatives (units: the rows scored, e.g. patients or hours)
AGE_BANDS = ((0, 50, "<50"), (50, 65, "50-64"), (65, 80, "65-79"), (80, 200, "80+"))
_ORDER = {name: k for k, (_, _, name) in enumerate(AGE_BANDS)}


def age_band(age: float) -> str:
    if age is None or not np.isfinite(age):
        return "unknown"
    return next((name for low, high, name in AGE_BANDS if low <= age < high), "unknown")


def subgroup_table(scored: pd.DataFrame, groups: dict[str, pd.Series]) -> list[dict]:
    """``scored``: one row per scored unit with ``patient_id``, ``label`` (0/1), ``risk``;
    ``groups``: ``{variable: Series patient_id -> group name}``. One dict per (variable, group)."""
    rows = []
    for variable, group_of in groups.items():
        names = scored["patient_id"].map(group_of).fillna("unknown").astype(str)
        for name in sorted(names.unique(), key=lambda n: (_ORDER.get(n, len(_ORDER)), n)):
            part = scored[names == name]
            y, p = part["label"].to_numpy(dtype=int), part["risk"].to_numpy(dtype=np.float64)
            n_pos, n_neg = int(y.sum()), int((y == 0).sum())
            both = n_pos > 0 and n_neg > 0
            slope, intercept = calibration_slope_intercept(y, p) if both else (float("nan"), float("nan"))
            rows.append({
                "variable": variable, "group": name,
                "patients": int(part["patient_id"].nunique()), "n": int(len(part)),
                "positives": n_pos, "negatives": n_neg,
                "auroc": float(roc_auc_score(y, p)) if both else float("nan"),
                "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
                "ece": ece(y, p) if len(y) else float("nan"),
                "mean_risk": float(p.mean()) if len(p) else float("nan"),
                "observed_rate": float(y.mean()) if len(y) else float("nan"),
                "calibration_slope": slope, "calibration_intercept": intercept,
                "too_small": bool(min(n_pos, n_neg) < MIN_EVENTS),
            })  # fmt: skip
    return rows
