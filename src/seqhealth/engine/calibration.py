"""Post-hoc probability calibration: fitted on VALIDATION outputs, stored as plain numbers.

A model trained with a positive-class weight (inverse odds, as the vitals tasks do) ranks well but
its outputs are not probabilities: a weight ``w`` shifts every logit by ``log w``. A calibrator
maps the model's output to a risk that means what it says. Two are fitted with scikit-learn and
compared out-of-fold on the validation outputs (grouped by patient, so hours of one stay never sit
on both sides); the one with the lower Brier score is kept (isotonic only by a margin, see
``ISOTONIC_MARGIN``):

* ``platt``: logistic regression on the output's logit (``sigmoid(a * logit(p) + b)``): undoes the
  class weight (``b``) and any over-/under-confidence (``a``, temperature scaling's ``1 / T``);
  strictly monotone, so rankings (AUROC) are unchanged;
* ``isotonic``: a monotone step-wise map (``IsotonicRegression``; its breakpoints interpolated
  linearly, exactly as scikit-learn predicts), more flexible, needs more validation events.

The calibrator is a dict of floats and lists (``{"method", ...}``) so it pickles with the bundle,
reads in ``metrics.json`` and needs no scikit-learn object at serving time.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedGroupKFold
from torchmetrics.functional.classification import binary_calibration_error

METHODS = ("platt", "isotonic")
EPS = 1e-6
ECE_BINS = 15
# Isotonic maps ranges of outputs to one risk: ties cost ranking (AUROC, patient max-risk) and the
# resolution of alert thresholds. It is kept only when clearly better than the monotone Platt map
# (measured on the large sepsis sample: out-of-fold Brier 0.01412 isotonic vs 0.01414 Platt, and
# the 90 % and 95 % specificity thresholds fell on one isotonic step).
ISOTONIC_MARGIN = 0.02
RISK_FLOOR = 1e-3


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def fit_calibrator(y: np.ndarray, p: np.ndarray, method: str) -> dict:
    """``{"method": ...}`` plus the fitted numbers; ``y`` 0/1, ``p`` the model's probabilities."""
    y, p = np.asarray(y, dtype=int).ravel(), np.asarray(p, dtype=np.float64).ravel()
    if method == "platt":
        fit = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(p)[:, None], y)
        return {"method": "platt", "slope": float(fit.coef_[0, 0]), "intercept": float(fit.intercept_[0])}
    if method == "isotonic":
        # Never a risk of exactly 0 or 1: a step fitted on a few hundred patients cannot claim it.
        fit = IsotonicRegression(y_min=RISK_FLOOR, y_max=1 - RISK_FLOOR, out_of_bounds="clip").fit(p, y)
        return {"method": "isotonic", "x": fit.X_thresholds_.tolist(), "y": fit.y_thresholds_.tolist()}
    raise ValueError(f"unknown calibration method {method!r}; expected one of {METHODS}")


def apply_calibration(calibration: dict | None, p) -> np.ndarray:
    """Calibrated risks of the model's probabilities ``p`` (any shape); ``None``: unchanged."""
    p = np.asarray(p, dtype=np.float64)
    if not calibration or calibration["method"] == "none":
        return p
    if calibration["method"] == "platt":
        z = calibration["slope"] * _logit(p) + calibration["intercept"]
        return expit(z)  # no overflow warning for very negative z, unlike 1 / (1 + exp(-z))
    if calibration["method"] == "isotonic":
        return np.interp(p, calibration["x"], calibration["y"])
    raise ValueError(f"unknown calibration method {calibration['method']!r}")


def choose_calibrator(y: np.ndarray, p: np.ndarray, groups: np.ndarray | None = None, folds: int = 5,
                      seed: int = 0, methods=METHODS, class_weight: float | None = None) -> tuple[dict, dict]:  # fmt: skip
    """The method with the lowest out-of-fold Brier on (``y``, ``p``), refitted on all of them.

    Folds are stratified and keep each of ``groups`` (e.g. a stay's hours) together. Returns
    ``(calibrator, selection)``; ``selection`` holds each method's out-of-fold Brier and ECE next
    to the uncalibrated ones, so the choice is documented in ``metrics.json``. With fewer than
    2 positives or negatives nothing can be fitted: the odds are divided by the training
    ``class_weight`` (positive-class weight) when given, else ``{"method": "none"}`` (identity).
    """
    y, p = np.asarray(y, dtype=int).ravel(), np.asarray(p, dtype=np.float64).ravel()
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    n_pos, n_neg = int(y.sum()), int((y == 0).sum())
    if min(n_pos, n_neg) < 2:
        reason = f"{n_pos} positive / {n_neg} negative validation outcomes: too few to fit on"
        if class_weight and class_weight > 0:
            # The weight multiplies the odds the model learns; dividing them back is the prior
            # correction (a Platt map with slope 1), the best available without validation events.
            return ({"method": "platt", "slope": 1.0, "intercept": -float(np.log(class_weight))},
                    {"chosen": "class-weight correction", "reason": reason})  # fmt: skip
        return {"method": "none"}, {"chosen": "none", "reason": reason}
    positive_groups = len(np.unique(groups[y == 1]))
    folds = max(2, min(folds, positive_groups, n_neg))
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(p, y, groups)
    out_of_fold = {m: np.full_like(p, np.nan) for m in methods}
    for fit_idx, held_idx in splitter:
        if len(np.unique(y[fit_idx])) < 2:
            continue  # a fold without positives to fit on: its items stay unscored
        for method in methods:
            out_of_fold[method][held_idx] = apply_calibration(fit_calibrator(y[fit_idx], p[fit_idx], method), p[held_idx])
    scored = np.isfinite(out_of_fold[methods[0]])
    if not scored.any():  # every positive in one group: no fold to compare on
        return fit_calibrator(y, p, "platt"), {"chosen": "platt", "reason": "positives of one patient only: not compared"}
    selection = {"uncalibrated": {"brier": float(brier_score_loss(y[scored], p[scored])), "ece": ece(y[scored], p[scored])}}
    for method in methods:
        q = out_of_fold[method][scored]
        selection[method] = {"brier": float(brier_score_loss(y[scored], q)), "ece": ece(y[scored], q)}
    best = min(methods, key=lambda m: selection[m]["brier"] * (1.0 if m == "platt" else 1.0 + ISOTONIC_MARGIN))
    return fit_calibrator(y, p, best), {"chosen": best, "folds": int(folds), "out_of_fold": selection,
                                        "criterion": f"out-of-fold Brier on validation; isotonic only when "
                                                     f"{ISOTONIC_MARGIN:.0%} lower than Platt's"}  # fmt: skip


# --------------------------------------------------------------------------------- measuring
def ece(y: np.ndarray, p: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """Expected calibration error (equal-width bins, L1; torchmetrics)."""
    preds = torch.tensor(np.clip(np.asarray(p, dtype=np.float64).ravel(), 0.0, 1.0))
    target = torch.tensor(np.asarray(y, dtype=np.int64).ravel())  # a copy: pandas arrays may be read-only
    return float(binary_calibration_error(preds, target, n_bins=n_bins, norm="l1"))


def calibration_slope_intercept(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Cox's logistic recalibration ``logit P(y) = intercept + slope * logit(p)``: 1 and 0 when
    calibrated; slope < 1 means too extreme risks, intercept < 0 risks too high overall."""
    y = np.asarray(y, dtype=int).ravel()
    if len(np.unique(y)) < 2:
        return float("nan"), float("nan")
    fit = LogisticRegression(C=np.inf, max_iter=1000).fit(_logit(p)[:, None], y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def calibration_summary(y: np.ndarray, p: np.ndarray, baseline_brier: float) -> dict:
    """Brier, its skill against a baseline (``1 - Brier / baseline``), ECE, slope, intercept and the
    mean risk next to the observed rate."""
    y, p = np.asarray(y, dtype=int).ravel(), np.asarray(p, dtype=np.float64).ravel()
    brier = float(brier_score_loss(y, p))
    slope, intercept = calibration_slope_intercept(y, p)
    return {
        "brier": brier,
        "brier_skill": 1.0 - brier / baseline_brier if baseline_brier > 0 else float("nan"),
        "ece": ece(y, p),
        "ece_bins": ECE_BINS,
        "calibration_slope": slope,
        "calibration_intercept": intercept,
        "mean_risk": float(p.mean()),
        "observed_rate": float(y.mean()),
    }
