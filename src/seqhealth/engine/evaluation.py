"""Pieces every task's evaluation shares: thresholds, baselines and the metrics file layout."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import matthews_corrcoef

from seqhealth.batching.arrow_store import open_split
from seqhealth.models.metrics import binary_metrics


def best_mcc_threshold(y_true: np.ndarray, prob: np.ndarray) -> float:
    """Threshold maximising MCC, chosen on VALIDATION predictions (never on test)."""
    if len(np.unique(y_true)) < 2:
        return 0.5
    candidates = np.unique(np.quantile(prob, np.linspace(0.02, 0.98, 49)))
    scores = [matthews_corrcoef(y_true, prob >= t) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def prevalence_baseline(y_train: np.ndarray, y_test: np.ndarray) -> dict:
    """What a model that always predicts the training prevalence scores on test.

    Labelled in ``metrics.json`` (``name``, ``description``): ``prevalence`` / ``train_prevalence``
    is the TRAINING split's positive rate (the constant score), ``test_prevalence`` the test
    split's, which is also the AUPRC of a no-skill model on test.
    """
    prevalence = float(np.mean(y_train))
    constant = np.full(len(y_test), prevalence, dtype=np.float64)
    baseline = {
        "name": "constant training prevalence",
        "description": "every test item scored with the training split's positive rate (no model); "
                       "thresholded at 0.5 for the threshold metrics",
        **binary_metrics(y_test, constant, threshold=0.5),
    }
    baseline["prevalence"] = prevalence
    baseline["train_prevalence"] = prevalence
    baseline["test_prevalence"] = float(np.mean(y_test)) if len(y_test) else None
    return baseline


def metrics_document(task: str, model_input: dict, bundle: dict, test: dict, **extra) -> dict:
    """The layout of ``data/08_reporting/<task>/metrics.json``."""
    # A split is a list of samples or a store path (its sample count, not the path's length).
    splits = {name: open_split(model_input["splits"][name]) for name in ("train", "val", "test")}
    return {
        "task": task,
        "n_train": len(splits["train"]),
        "n_val": len(splits["val"]),
        "n_test": len(splits["test"]),
        "best_epoch": int(bundle["best_epoch"]),
        "training": bundle.get("training", {}),
        "test": {k: _finite(v) for k, v in test.items()},
        **extra,
    }


def _finite(value):
    value = float(value)
    return value if np.isfinite(value) else None
