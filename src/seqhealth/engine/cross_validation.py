"""Fold assignments for k-fold cross-validation over groups (patients, sequences), any task.

A task's builder takes ``assignment`` (group -> train/val/test) or a ``split`` function; each
fold's test groups come from an outer stratified k-fold and its validation groups from one inner
fold of the rest, so validation only ever serves early stopping and checkpoint choice.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold


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
