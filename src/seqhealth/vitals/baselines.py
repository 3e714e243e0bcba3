"""What a hospital data team tries first on ICU stays, scored next to the model in metrics.json.

Per stay (mortality) or per hour from the stay's start (early warning, causal): each variable's
mean / min / max / first observed value and log1p(number observed) (``models.stay_summary``,
the same statistics the model's head can read) and the latest carried-forward inputs, into

* ``summary_logreg``: standardised logistic regression (L2, C = 0.05);
* ``summary_gbm``: scikit-learn's histogram gradient boosting (300 trees of <= 15 leaves,
  learning rate 0.05, >= 40 samples per leaf, L2 1.0).

Both are fitted on the TRAINING split (unweighted), calibrated on the validation split as the
model is, and scored on the test split with the task's own metrics. Settings measured on
PhysioNet 2012 set A (5-fold CV, fold seed 0, statistics of the raw observations): GBM 0.862,
logistic regression 0.842 mean fold AUROC, against 0.821 / 0.836 for the GRU alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from seqhealth.batching.arrow_store import open_split
from seqhealth.engine.calibration import apply_calibration, choose_calibrator
from seqhealth.models.stay_summary import StaySummary

MAX_TRAIN_ROWS = 300_000  # training rows (stay-hours) the baselines are fitted on at most

DESCRIPTIONS = {
    "summary_logreg": "logistic regression on per-variable mean/min/max/first/count and the latest inputs",
    "summary_gbm": "gradient boosting (scikit-learn HistGradientBoosting) on the same features",
}


def summary_features(samples: Iterable[dict], layout: dict, running: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(X [N, 5V + F], y [N])``: one row per stay (``running=False``: the whole window's
    statistics and its last step's inputs) or per valid hour (``running=True``: the statistics
    up to that hour and its inputs)."""
    summary = StaySummary(int(layout["n_variables"]), int(layout["observed_offset"]), running=running)
    rows, labels = [], []
    with torch.no_grad():
        for sample in samples:
            x = torch.as_tensor(np.asarray(sample["x"], dtype=np.float32)).unsqueeze(0)
            mask = torch.ones(x.shape[:2], dtype=torch.bool)
            stats = summary(x, mask)[0].numpy()
            y = np.asarray(sample["y"], dtype=np.float64)
            if running:
                rows.append(np.concatenate([stats, x[0].numpy()], axis=1))
                labels.append(y.ravel())
            else:
                rows.append(np.concatenate([stats, x[0, -1].numpy()])[None])
                labels.append(y.reshape(1))
    if not rows:
        return np.zeros((0, 0), np.float32), np.zeros(0)
    return np.concatenate(rows).astype(np.float32), np.concatenate(labels)


def baseline_models(seed: int = 0) -> dict:
    return {
        "summary_logreg": make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=3000)),
        "summary_gbm": HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, max_leaf_nodes=15,
                                                      min_samples_leaf=40, l2_regularization=1.0,
                                                      early_stopping=False, random_state=seed),  # fmt: skip
    }


def summary_baseline_risks(train: Iterable[dict], val: Iterable[dict], test: Iterable[dict], layout: dict,
                           running: bool) -> dict:  # fmt: skip
    """``{name: (val risks, test risks)}``, each a list with one array per stay (its hours when
    ``running``), from the models fitted on ``train``; empty when the layout has no value channel
    or the training labels hold one class."""
    if not layout or int(layout.get("n_variables") or 0) < 1:
        return {}
    x_train, y_train = summary_features(_capped_stays(train, running), layout, running)
    if len(np.unique(y_train)) < 2:
        return {}
    parts = {name: _rows_per_stay(samples, layout, running) for name, samples in (("val", val), ("test", test))}
    out = {}
    for name, model in baseline_models().items():
        model.fit(x_train, y_train.astype(int))
        out[name] = tuple(np.split(model.predict_proba(x)[:, 1], np.cumsum(sizes)[:-1]) if len(x) else []
                          for x, sizes in parts.values())  # fmt: skip
    return out


def _capped_stays(samples, running: bool, max_rows: int = MAX_TRAIN_ROWS):
    """The training stays, or a seeded random subset of whole stays holding at most ``max_rows``
    rows: the baselines are references, and a cohort-scale hourly matrix (1.5 M hours x 300
    features at 40,000 stays) would cost the evaluation more memory than the model's training."""
    n = len(samples)
    if running:
        lengths = getattr(samples, "lengths", None)  # an Arrow store knows them without reading items
        lengths = np.asarray([len(s["x"]) for s in samples] if lengths is None else lengths)
    else:
        lengths = np.ones(n, dtype=np.int64)
    if lengths.sum() <= max_rows:
        return samples
    order = np.random.default_rng(0).permutation(n)
    keep = np.sort(order[: int(np.searchsorted(np.cumsum(lengths[order]), max_rows, side="right"))])
    return [samples[int(i)] for i in keep]


def _rows_per_stay(samples: Iterable[dict], layout: dict, running: bool) -> tuple[np.ndarray, list[int]]:
    samples = list(samples)
    x, _ = summary_features(samples, layout, running)
    return x, [len(s["x"]) if running else 1 for s in samples]


def summary_baselines(model_input: dict, running: bool, threshold_of: Callable, score: Callable) -> dict:
    """``{name: {"description", "calibration", **score(test risks, threshold)}}`` for metrics.json.

    Each baseline is treated as the model is: a calibrator (Platt or isotonic, chosen out-of-fold,
    ``engine.calibration``) fitted on its VALIDATION risks (a tree ensemble fitted on correlated
    hours is over-confident), then its operating threshold chosen on the calibrated validation
    risks by ``threshold_of(labels, risks)`` (the task's alert rule); ``score`` is the task's own
    test scoring of the calibrated test risks."""
    splits = {name: open_split(model_input["splits"][name]) for name in ("train", "val", "test")}
    val_labels = [np.atleast_1d(s["y"]).astype(int) for s in splits["val"]]
    groups = np.repeat(np.arange(len(val_labels)), [len(lab) for lab in val_labels])  # a stay's hours together
    risks = summary_baseline_risks(splits["train"], splits["val"], splits["test"],
                                   model_input.get("data_hparams") or {}, running)  # fmt: skip
    out = {}
    for name, (val, test) in risks.items():
        calibrator, selection = choose_calibrator(np.concatenate(val_labels), np.concatenate(val), groups=groups)
        val, test = ([apply_calibration(calibrator, r) for r in part] for part in (val, test))
        out[name] = {"description": DESCRIPTIONS[name], "calibration": selection["chosen"],
                     **score(test, threshold_of(val_labels, val))}  # fmt: skip
    return out
