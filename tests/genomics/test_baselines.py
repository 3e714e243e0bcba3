"""The biologist's baselines on synthetic sets where the answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from seqhealth.genomics.alphabet import encode
from seqhealth.genomics.baselines import (
    classification_baselines,
    kmer_profile_adds_to_positions,
    kmer_profiles,
    positional_one_hot,
    rbf_svm_scores,
    svm_max_train,
)

BASES = np.array(list("ACGT"))


def _sample(seq: str, y: int) -> dict:
    tokens = encode(seq)
    return {"x": tokens, "y": y, "length": len(tokens)}


def _random(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(BASES, n))


def _split(samples: list[dict], rng: np.random.Generator) -> tuple[list, list, list]:
    order = rng.permutation(len(samples))
    samples = [samples[i] for i in order]
    n = len(samples)
    return samples[: n // 2], samples[n // 2 : 3 * n // 4], samples[3 * n // 4 :]


def test_kmer_profile_counts_both_strands_and_skips_n():
    # AACG: 2-mers AA, AC, CG; its reverse complement CGTT: CG, GT, TT. "N" breaks k-mers.
    profile = kmer_profiles([_sample("AACGN", 0)], k=2).toarray()[0]
    index = {a + b: 4 * "ACGT".index(a) + "ACGT".index(b) for a in "ACGT" for b in "ACGT"}
    expected = np.zeros(16)
    for kmer in ("AA", "AC", "CG", "CG", "GT", "TT"):
        expected[index[kmer]] += 1
    np.testing.assert_allclose(profile, expected / expected.sum())


def test_kmer_profile_is_the_same_for_a_sequence_and_its_reverse_complement():
    rng = np.random.default_rng(0)
    seq = _random(rng, 200)
    reverse_complement = seq[::-1].translate(str.maketrans("ACGT", "TGCA"))
    a, b = kmer_profiles([_sample(seq, 0), _sample(reverse_complement, 0)], k=4).toarray()
    np.testing.assert_allclose(a, b)
    assert a.sum() == pytest.approx(1.0)


def test_positional_one_hot_marks_each_base_at_its_position():
    features = positional_one_hot([_sample("ACGTN", 0)])
    assert features.shape == (1, 25)
    np.testing.assert_array_equal(features.reshape(5, 5), np.eye(5))


def test_kmer_baseline_learns_classes_that_differ_by_motif_content():
    """Variable lengths, motif anywhere: k-mer counts separate the classes, no one-hot baseline."""
    rng = np.random.default_rng(1)
    motifs = ("GGGCCCGG", "TTAATTAA", "CACGTGCA")
    samples = []
    for i in range(150):
        y = i % 3
        parts = [_random(rng, int(rng.integers(5, 30))) + motifs[y] for _ in range(4)]
        samples.append(_sample("".join(parts), y))
    train, val, test = _split(samples, rng)
    result = classification_baselines(train, val, test, n_classes=3, kmer_sizes=(3, 4))
    assert set(result) == {"kmer_logreg", "kmer_1nn"}  # lengths differ: no positional baseline
    assert result["kmer_logreg"]["accuracy"] >= 0.9
    assert result["kmer_logreg"]["k"] in (3, 4)
    assert result["kmer_logreg"]["n"] == len(test)


def test_positional_baseline_learns_what_only_position_tells_apart():
    """Same motif, same composition; only its position differs: k-mer bags cannot tell."""
    rng = np.random.default_rng(2)
    samples = []
    for i in range(200):
        y = i % 2
        seq = list(_random(rng, 40))
        start = 5 if y == 0 else 25
        seq[start : start + 6] = "GAATTC"
        samples.append(_sample("".join(seq), y))
    train, val, test = _split(samples, rng)
    result = classification_baselines(train, val, test, n_classes=1)  # binary: n_classes 1 counts as 2
    assert result["onehot_logreg"]["accuracy"] >= 0.95
    assert result["kmer_logreg"]["accuracy"] <= 0.8
    assert result["onehot_logreg"]["C"] in (0.01, 0.1, 1.0)


def test_a_class_missing_from_training_still_gets_a_probability_column():
    rng = np.random.default_rng(3)
    train = [_sample(_random(rng, 30), i % 2) for i in range(20)]
    test = [_sample(_random(rng, 30), 2) for _ in range(5)]
    result = classification_baselines(train, [], test, n_classes=3, kmer_sizes=(3,))
    assert result["kmer_logreg"]["accuracy"] == 0.0  # class 2 was never seen, never predicted
    assert result["kmer_logreg"]["n"] == 5


def test_nothing_to_fit_gives_no_baselines():
    one_class = [_sample("ACGTACGT", 0)] * 4
    assert classification_baselines(one_class, [], one_class, n_classes=2) == {}


def _motif_set(rng: np.random.Generator, n: int, length: int, fixed: bool) -> list[dict]:
    """Class 1 carries TATAAT (fixed: always at base 20; else anywhere), class 0 does not."""
    samples = []
    for i in range(n):
        seq = list(_random(rng, length).replace("TATAAT", "TATACT"))
        if i % 2:
            start = 20 if fixed else int(rng.integers(0, length - 6))
            seq[start:start + 6] = "TATAAT"
        samples.append(_sample("".join(seq), i % 2))
    return samples


def test_kmer_profile_adds_to_positions_only_where_the_motif_moves():
    rng = np.random.default_rng(0)
    moving = kmer_profile_adds_to_positions(_motif_set(rng, 120, 50, fixed=False), 2, k=4)
    fixed = kmer_profile_adds_to_positions(_motif_set(rng, 120, 50, fixed=True), 2, k=4)
    assert moving["adds"], moving
    assert moving["positions_and_kmers"] < moving["positions"]
    assert not fixed["adds"], fixed


def test_pairs_baseline_reads_what_single_positions_cannot():
    """Class 1 holds GT or TG at positions 10-11, class 0 GG or TT: each base alone is G or T half
    of the time in both classes (an XOR for per-position one-hot), the pair tells them apart."""
    rng = np.random.default_rng(4)
    samples = []
    for i in range(600):
        y = i % 2
        seq = list(_random(rng, 30))
        seq[10:12] = [("GT", "TG"), ("GG", "TT")][1 - y][int(rng.integers(2))]
        samples.append(_sample("".join(seq), y))
    train, val, test = _split(samples, rng)
    result = classification_baselines(train, val, test, n_classes=1)
    assert result["onehot_pairs_logreg"]["accuracy"] >= 0.95
    assert result["onehot_logreg"]["accuracy"] <= 0.75
    assert result["onehot_pairs_logreg"]["n"] == len(test)


def test_svm_baseline_reads_interactions_between_distant_positions():
    """Class 1 holds the same base (G or T) at positions 2 and 7, class 0 different ones: an XOR
    of two bases 5 apart in 10-base windows, which neither the single bases nor the neighbouring pairs of a linear
    model can read and the RBF kernel (mismatch counts) can."""
    rng = np.random.default_rng(7)
    samples = []
    for i in range(600):
        y = i % 2
        seq = list(_random(rng, 10))
        first = "GT"[int(rng.integers(2))]
        seq[2], seq[7] = first, first if y else "GT".replace(first, "")
        samples.append(_sample("".join(seq), y))
    train, val, test = _split(samples, rng)
    result = classification_baselines(train, val, test, n_classes=1)
    svm = result["onehot_pairs_svm"]
    assert svm["accuracy"] >= 0.75, svm
    assert result["onehot_pairs_logreg"]["accuracy"] <= 0.65, result["onehot_pairs_logreg"]
    assert svm["n"] == len(test) and svm["n_train_fitted"] == svm["n_train"] == len(train)


def test_svm_baseline_fits_a_stratified_subset_of_a_large_training_split():
    rng = np.random.default_rng(8)
    x = rng.integers(0, 2, size=(300, 12)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    result = rbf_svm_scores(x, y, x[:50], y[:50], n_classes=2, max_train=100)
    assert result["n_train"] == 300 and result["n_train_fitted"] == 100
    assert result["accuracy"] == 1.0 and result["n"] == 50
    # A class with a single training row (which stratified sampling refuses) is kept, not a crash.
    y_rare = y.copy()
    y_rare[5] = 2
    rare = rbf_svm_scores(x, y_rare, x[:50], y[:50], n_classes=3, max_train=100)
    assert rare["n_train_fitted"] == 100 and rare["accuracy"] >= 0.98
    # Without a cap given, the cap follows the work (rows squared times features).
    assert svm_max_train(1_184) > 10_000 > svm_max_train(21_000) >= 1_000
