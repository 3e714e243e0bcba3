import numpy as np

from seqhealth.engine.cross_validation import fold_assignments


def test_every_patient_is_tested_once_and_never_trained_on_in_its_fold():
    patients = [f"p{i:03d}" for i in range(100)]
    y = np.array([1 if i % 7 == 0 else 0 for i in range(100)])
    folds = list(fold_assignments(patients, y, folds=5, seed=3))
    assert len(folds) == 5
    tested = [p for fold in folds for p, split in fold.items() if split == "test"]
    assert sorted(tested) == patients  # each exactly once
    for fold in folds:
        assert set(fold) == set(patients)
        counts = {s: sum(v == s for v in fold.values()) for s in ("train", "val", "test")}
        assert counts["test"] == 20 and counts["val"] >= 10 and counts["train"] >= 60
        # stratified: every fold's test part holds deaths
        assert sum(y[patients.index(p)] for p, s in fold.items() if s == "test") >= 2
