"""Cross-validation helper for sequence classification (fast: synthetic data, baselines only)."""

from __future__ import annotations

import numpy as np

from seqhealth.genomics.alphabet import encode
from seqhealth.tasks.dna_classify_cv import (
    classify_model_input,
    fold_splits,
    repeated_cross_validate_classify,
)


def test_every_sample_is_tested_once_and_groups_never_straddle_splits():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 40)
    groups = rng.integers(0, 30, len(y))  # ~4 samples per group
    folds = fold_splits(y, groups, folds=5, seed=3)
    assert len(folds) == 5
    tested = np.sum([a == "test" for a in folds], axis=0)
    assert (tested == 1).all()
    for assignment in folds:
        assert {"train", "val", "test"} <= set(assignment)
        for g in np.unique(groups):
            assert len(set(assignment[groups == g])) == 1


def test_model_input_weights_classes_and_binary_tasks_get_one_output():
    samples = [{"x": encode("ACGT"), "y": y, "length": 4} for y in (0, 0, 0, 1)]
    model_input = classify_model_input(samples, np.array(["train"] * 4), n_classes=2)
    assert model_input["n_classes"] == 1 and model_input["pos_weight"] == 3.0
    three = [{"x": encode("ACGT"), "y": y, "length": 4} for y in (0, 0, 1, 2)]
    model_input = classify_model_input(three, np.array(["train"] * 4), n_classes=3)
    assert model_input["class_weights"] == [4 / 6, 4 / 3, 4 / 3]
    assert len(model_input["splits"]["train"]) == 4 and model_input["splits"]["test"] == []


def test_repeated_cv_of_the_baselines_on_a_motif_set():
    rng = np.random.default_rng(1)
    motifs = ("GGGCCCGG", "TTAATTAA")
    samples = []
    for i in range(60):
        seq = "".join("".join(rng.choice(list("ACGT"), rng.integers(5, 25))) + motifs[i % 2] for _ in range(3))
        samples.append({"x": encode(seq), "y": i % 2, "length": len(seq)})
    result = repeated_cross_validate_classify(samples, 2, None, {}, folds=3, seeds=(0, 1))
    assert len(result["folds"]) == 6 and set(result["per_seed"]) == {0, 1}
    summary = result["summary"]
    assert summary["kmer_logreg"]["n_folds"] == 6
    assert summary["kmer_logreg"]["accuracy"] >= 0.9
    assert "onehot_logreg" not in summary  # lengths differ: no positional baseline
