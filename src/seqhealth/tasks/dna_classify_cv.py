"""Repeated, grouped k-fold cross-validation of the sequence classification task.

Every sample is scored once per fold seed, by a model that never saw it or its group: the fold
is ``test``; one stratified inner fold of the rest (1/7 of it) is ``val`` (early stopping and the
baselines' choice of k only); everything else is ``train``. The baselines of
``genomics.baselines`` are fitted on the very same train/val/test of each fold, so model and
baselines are compared on identical data. Plain Python (no Kedro), like the 2012 mortality CV
(``repeated_cross_validate_mortality``): small sets move by several points with the fold seed,
so folds are repeated over several seeds and the spread over all folds is reported.

    from seqhealth.genomics.benchmark_sets import splice_junctions
    samples, names, groups = splice_junctions()
    result = repeated_cross_validate_classify(samples, len(names), model_params, train_cfg, groups=groups)
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from seqhealth.engine.fingerprint import samples_fingerprint
from seqhealth.engine.fit import fit_sequence_model, predict_samples
from seqhealth.genomics.alphabet import VOCAB_SIZE
from seqhealth.genomics.baselines import classification_baselines
from seqhealth.models.metrics import multiclass_metrics
from seqhealth.tasks.dna_classify import TASK as CLASSIFY
from seqhealth.tasks.dna_classify import data_hparams


def fold_splits(y: np.ndarray, groups: Sequence | None, folds: int, seed: int) -> list[np.ndarray]:
    """One array of ``"train"|"val"|"test"`` per fold; each sample is ``test`` exactly once and
    no group spans two splits of one fold."""
    y = np.asarray(y)
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    outer = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    out = []
    for k, (rest, test) in enumerate(outer.split(np.zeros(len(y)), y, groups)):
        n_inner = min(7, int(np.bincount(y[rest]).min()))
        inner_kind = StratifiedGroupKFold if n_inner >= 2 else StratifiedKFold
        inner = inner_kind(max(2, n_inner), shuffle=True, random_state=seed + 1 + k)
        _, val = next(inner.split(np.zeros(len(rest)), y[rest], groups[rest]))
        assignment = np.full(len(y), "train", dtype=object)
        assignment[test] = "test"
        assignment[rest[val]] = "val"
        out.append(assignment)
    return out


def classify_model_input(samples: Sequence[dict], assignment: np.ndarray, n_classes: int,
                         class_weighting: bool = True) -> dict:
    """The ``dna_classify`` model input for one fold (same keys as the pipeline's builder)."""
    splits = {name: [s for s, a in zip(samples, assignment) if a == name] for name in ("train", "val", "test")}
    counts = np.bincount([s["y"] for s in splits["train"]], minlength=n_classes).astype(float)
    binary = n_classes == 2
    weights = (counts.sum() / (n_classes * np.maximum(counts, 1))).tolist()
    return {
        "task": CLASSIFY.name,
        "task_kind": "sequence",
        "n_classes": 1 if binary else n_classes,
        "input_kind": "tokens",
        "input_size": VOCAB_SIZE,
        "class_weights": None if binary or not class_weighting else weights,
        "pos_weight": (counts[0] / max(counts[1], 1)) if binary and class_weighting else None,
        "data_hparams": data_hparams(splits, n_classes),
        "splits": splits,
        "preprocessing": {"kind": "dna_tokens"},
        "class_names": [str(i) for i in range(n_classes)],
        "fingerprint": samples_fingerprint(splits),
    }


def probabilities(bundle: dict, samples: Sequence[dict]) -> np.ndarray:
    """``[N, K]`` class probabilities (a binary model's ``[N]`` becomes ``[N, 2]``)."""
    probs = np.asarray([np.atleast_1d(p) for p in predict_samples(bundle, list(samples))], dtype=np.float64)
    return np.column_stack([1 - probs[:, 0], probs[:, 0]]) if probs.shape[1] == 1 else probs


def cross_validate_classify(
    samples: Sequence[dict],
    n_classes: int,
    model_params: dict | None,
    train_cfg: dict,
    groups: Sequence | None = None,
    folds: int = 5,
    seed: int = 0,
    baselines: bool = True,
    class_weighting: bool = True,
) -> dict:
    """Per-fold test metrics of the model (``model_params=None``: baselines only) and baselines.

    Returns ``{"folds": [{"model": metrics, "baselines": {name: metrics}}, ...]}`` plus
    ``summarise``'s means and spreads.
    """
    y = np.asarray([int(s["y"]) for s in samples])
    rows = []
    with tempfile.TemporaryDirectory(prefix="classify_cv_") as checkpoints:
        cfg = {"enable_progress_bar": False, **train_cfg, "checkpoint_dir": checkpoints}
        if n_classes == 2 and cfg.get("monitor") in ("val_accuracy", "val_macro_f1"):
            # A binary SequenceModel logs val_auroc/auprc/mcc/f1, not the multiclass metrics.
            cfg.update(monitor="val_loss", monitor_mode="min")
        for assignment in fold_splits(y, groups, folds, seed):
            model_input = classify_model_input(samples, assignment, n_classes, class_weighting)
            splits = model_input["splits"]
            row = {}
            if model_params is not None:
                bundle, _ = fit_sequence_model(model_input, model_params, {**cfg, "_resume_from": None})
                test_y = np.asarray([s["y"] for s in splits["test"]])
                row["model"] = multiclass_metrics(test_y, probabilities(bundle, splits["test"]))
                row["model"]["best_epoch"] = bundle["best_epoch"]
            if baselines:
                row["baselines"] = classification_baselines(splits["train"], splits["val"], splits["test"], n_classes)
            rows.append(row)
    return {"folds": rows, **summarise(rows)}


def summarise(rows: list[dict]) -> dict:
    """Mean and standard deviation over folds of accuracy and macro-F1, per method."""
    methods: dict[str, list[dict]] = {}
    for row in rows:
        if "model" in row:
            methods.setdefault("model", []).append(row["model"])
        for name, scores in row.get("baselines", {}).items():
            methods.setdefault(name, []).append(scores)
    summary = {}
    for name, scores in methods.items():
        accuracy = np.asarray([s["accuracy"] for s in scores])
        macro_f1 = np.asarray([s["macro_f1"] for s in scores])
        summary[name] = {
            "accuracy": float(accuracy.mean()),
            "accuracy_sd": float(accuracy.std(ddof=1)) if len(accuracy) > 1 else 0.0,
            "macro_f1": float(macro_f1.mean()),
            "macro_f1_sd": float(macro_f1.std(ddof=1)) if len(macro_f1) > 1 else 0.0,
            "n_folds": len(scores),
        }
    return {"summary": summary}


def repeated_cross_validate_classify(
    samples: Sequence[dict],
    n_classes: int,
    model_params: dict | None,
    train_cfg: dict,
    groups: Sequence | None = None,
    folds: int = 5,
    seeds: Sequence[int] = (0, 1, 2),
    baselines: bool = True,
    class_weighting: bool = True,
) -> dict:
    """``cross_validate_classify`` once per fold seed; the summary pools all folds of all seeds
    (the spread is the standard deviation over those folds) and ``per_seed`` keeps each seed's
    mean accuracy per method."""
    runs = {
        int(seed): cross_validate_classify(samples, n_classes, model_params, {**train_cfg, "seed": int(seed)},
                                           groups, folds, int(seed), baselines, class_weighting)
        for seed in seeds
    }
    rows = [row for run in runs.values() for row in run["folds"]]
    per_seed = {seed: {name: s["accuracy"] for name, s in run["summary"].items()} for seed, run in runs.items()}
    return {"folds": rows, "per_seed": per_seed, **summarise(rows)}
