"""K-fold cross-validation over patients for the stay-level mortality task.

A 60-stay test split of a 400-stay sample holds ~8 deaths, so one held-out AUROC moves by
+-0.1 with the split seed. Cross-validation scores every stay once, each by a model that never
saw it: each fold's remaining stays are split again into train and validation (validation for
early stopping and checkpoint choice only), and normalisation is fitted on that fold's train
stays alone, exactly as the pipeline's builder does.

Plain Python (no Kedro): ``cross_validate_mortality(clean_long, labels, params, model, train)``
with the task's parameter groups, e.g. from a notebook or ``tests/test_real_data_floors.py``.
Even 5-fold CV of 400 stays moves by +-0.04 AUROC with the fold seed (measured: 0.740-0.780),
so ``repeated_cross_validate_mortality`` repeats it over several seeds and averages all folds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from seqhealth.engine.fit import fit_sequence_model, predict_samples
from seqhealth.tasks.vitals_mortality import TASK as MORTALITY


def fold_assignments(patients: list[str], y: np.ndarray, folds: int, seed: int, val_fraction: float = 0.15):
    """One ``{patient: split}`` per fold: the fold is ``test``; one stratified inner fold of the
    rest (1 / round(1 / ``val_fraction``) of it: 1/7 for 0.15) is ``val``; everything else
    ``train``. Every patient is ``test`` in exactly one fold."""
    patients = np.asarray(patients)
    outer = StratifiedKFold(folds, shuffle=True, random_state=seed)
    n_inner = max(2, int(round(1 / val_fraction)))
    for k, (rest, test) in enumerate(outer.split(patients, y)):
        inner = StratifiedKFold(n_inner, shuffle=True, random_state=seed + 1 + k)
        train, val = next(inner.split(patients[rest], y[rest]))
        assignment = {str(p): "test" for p in patients[test]}
        assignment.update({str(p): "val" for p in patients[rest][val]})
        assignment.update({str(p): "train" for p in patients[rest][train]})
        yield assignment


def cross_validate_mortality(
    clean_long: pd.DataFrame,
    labels: pd.DataFrame,
    sample_params: dict,
    model_params: dict,
    train_cfg: dict,
    folds: int = 5,
    seed: int = 0,
) -> dict:
    """Per-fold and pooled out-of-fold AUROC of the mortality model.

    Returns ``{"fold_auroc": [...], "mean_auroc", "pooled_auroc", "out_of_fold": DataFrame}``;
    ``mean_auroc`` (the mean over folds) is the usual cross-validated figure; ``pooled_auroc``
    ranks all stays together and so also penalises fold-to-fold calibration differences.
    """
    label_of = dict(zip(labels["patient_id"].astype(str), labels["label"].astype(int)))
    present = set(clean_long["patient_id"].astype(str))
    patients = sorted(p for p in label_of if p in present)
    y = np.asarray([label_of[p] for p in patients])
    rows, fold_auroc = [], []
    for k, assignment in enumerate(fold_assignments(patients, y, folds, seed)):
        model_input = MORTALITY.build_model_input(clean_long, labels, sample_params, assignment=assignment)
        bundle, _ = fit_sequence_model(model_input, model_params, train_cfg)
        test_y = np.asarray([int(s["y"]) for s in model_input["splits"]["test"]])
        risk = np.asarray(predict_samples(bundle, model_input["splits"]["test"]), dtype=np.float64).ravel()
        fold_auroc.append(float(roc_auc_score(test_y, risk)))
        rows.append(pd.DataFrame({"patient_id": model_input["patients"]["test"], "fold": k,
                                  "label": test_y, "risk": risk}))
    out_of_fold = pd.concat(rows, ignore_index=True)
    return {
        "fold_auroc": fold_auroc,
        "mean_auroc": float(np.mean(fold_auroc)),
        "pooled_auroc": float(roc_auc_score(out_of_fold["label"], out_of_fold["risk"])),
        "out_of_fold": out_of_fold,
    }


def repeated_cross_validate_mortality(
    clean_long: pd.DataFrame,
    labels: pd.DataFrame,
    sample_params: dict,
    model_params: dict,
    train_cfg: dict,
    folds: int = 5,
    seeds=(0, 1, 2, 3, 4),
) -> dict:
    """``cross_validate_mortality`` once per fold seed: ``{"per_seed": {seed: mean fold AUROC},
    "fold_auroc": all folds, "mean_auroc": their mean, "pooled_auroc": mean per-seed pooled}``."""
    runs = {int(seed): cross_validate_mortality(clean_long, labels, sample_params, model_params, train_cfg, folds, int(seed))
            for seed in seeds}
    every_fold = [a for run in runs.values() for a in run["fold_auroc"]]
    return {
        "per_seed": {seed: run["mean_auroc"] for seed, run in runs.items()},
        "fold_auroc": every_fold,
        "mean_auroc": float(np.mean(every_fold)),
        "pooled_auroc": float(np.mean([run["pooled_auroc"] for run in runs.values()])),
        "runs": runs,
    }
