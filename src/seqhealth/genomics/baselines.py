"""The classifiers a biologist tries first on labelled sequences, as honest baselines.

- ``kmer_logreg``: k-mer count profiles (relative frequencies, scaled per column) + logistic
  regression; ``k`` is chosen on the validation split among ``KMER_SIZES``.
- ``kmer_1nn``: nearest neighbour by cosine distance between the same k-mer profiles (same
  choice of ``k`` on validation).
- ``onehot_logreg``: logistic regression on the positional one-hot bases, only when every
  sequence (train, val and test) has the same length: it is the strong baseline of aligned
  windows such as splice sites or promoters, where position matters and a bag of k-mers loses it;
- ``onehot_pairs_logreg``: the same with the pair of neighbouring bases at each position beside
  them (GT at a donor, AG at an acceptor): what the model's wide head reads (``models/wide.py``,
  ``wide_onehot_max_k: 2``), so the head has to beat a linear model on its own features;
- ``onehot_pairs_svm``: a support-vector machine with an RBF kernel (scikit-learn's defaults) on
  the same bases + pairs, the classic splice-site classifier: a kernel of mismatch counts that
  reads interactions between positions, which none of the linear baselines can. It is the
  strongest anchor on the shared splice sample; it gives labels, not probabilities, so only its
  accuracy and macro-F1 are reported.

All are fitted on the training split only and scored on the test split with the project's own
``multiclass_metrics``, so their figures sit next to the model's in ``metrics.json``. Plain
Python + scikit-learn (no Kedro); samples are the project's dicts
``{"x": uint8 tokens (seqhealth.genomics.alphabet), "y": int, "length": int}``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from seqhealth.genomics.alphabet import A, T
from seqhealth.models.metrics import multiclass_metrics

KMER_SIZES = (3, 4, 5, 6)
ONEHOT_C = (0.01, 0.1, 1.0)  # inverse L2 strength for the positional model, chosen on validation
# A kernel machine's fit grows with rows squared times features (measured on one core: 5,000
# windows of 60 bp, 1,184 features, 13 s): beyond about a minute of that work it is fitted on a
# seeded, stratified subset (~11,000 such windows; ~2,600 of 1,000 bp).
SVM_WORK = 1.4e11  # rows**2 * features


def svm_max_train(n_features: int) -> int:
    return max(1_000, int((SVM_WORK / max(1, n_features)) ** 0.5))


def kmer_profiles(samples: Sequence[dict], k: int) -> sparse.csr_matrix:
    """``[N, 4**k]`` relative k-mer frequencies (k-mers holding N or padding are skipped).

    Both strands are counted (each k-mer together with its reverse complement), so a sequence
    and its reverse complement get the same profile: markers such as ITS come in either
    orientation, and a biologist comparing k-mer profiles would not let orientation count.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    weights = 4 ** np.arange(k - 1, -1, -1, dtype=np.int64)
    rows, cols, values = [], [], []
    for i, sample in enumerate(samples):
        tokens = np.asarray(sample["x"], dtype=np.int64)[: int(sample["length"])]
        ids = []
        for strand in (tokens, _reverse_complement(tokens)):
            if len(strand) < k:
                continue
            windows = np.lib.stride_tricks.sliding_window_view(strand, k)
            valid = ((windows >= A) & (windows <= T)).all(axis=1)
            ids.append((windows[valid] - A) @ weights)
        ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        if ids.size == 0:
            continue
        kmers, counts = np.unique(ids, return_counts=True)
        rows.append(np.full(len(kmers), i))
        cols.append(kmers)
        values.append(counts / counts.sum())
    if not rows:
        return sparse.csr_matrix((len(samples), 4**k))
    return sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(len(samples), 4**k)
    )


def _reverse_complement(tokens: np.ndarray) -> np.ndarray:
    """A<->T, C<->G on tokens 1..4 (A, C, G, T); N and padding stay as they are."""
    out = tokens[::-1].copy()
    bases = (out >= A) & (out <= T)
    out[bases] = (A + T) - out[bases]
    return out


def positional_one_hot(samples: Sequence[dict]) -> np.ndarray:
    """``[N, L * 5]`` one-hot of A/C/G/T/N at every position (all samples of one length L)."""
    x = np.stack([np.asarray(s["x"], dtype=np.int64)[: int(s["length"])] for s in samples])
    one_hot = np.zeros((*x.shape, 5), dtype=np.float32)
    valid = x >= A
    one_hot[valid, x[valid] - A] = 1.0
    return one_hot.reshape(len(samples), -1)


def positional_pairs(samples: Sequence[dict]) -> np.ndarray:
    """``[N, (L-1) * 16]`` one-hot of the base pair starting at every position (0 where it holds N)."""
    x = np.stack([np.asarray(s["x"], dtype=np.int64)[: int(s["length"])] for s in samples]) - A
    first, second = x[:, :-1], x[:, 1:]
    valid = (first >= 0) & (first < 4) & (second >= 0) & (second < 4)
    pairs = np.zeros((*first.shape, 16), dtype=np.float32)
    rows, cols = np.nonzero(valid)
    pairs[rows, cols, first[valid] * 4 + second[valid]] = 1.0
    return pairs.reshape(len(samples), -1)


def _labels(samples: Sequence[dict]) -> np.ndarray:
    return np.asarray([int(s["y"]) for s in samples], dtype=np.int64)


def _full_probabilities(model, features, n_classes: int) -> np.ndarray:
    """``predict_proba`` widened to all ``n_classes`` columns (a class absent from train gets 0)."""
    proba = model.predict_proba(features)
    full = np.zeros((proba.shape[0], n_classes))
    full[:, model.classes_.astype(int)] = proba
    return full


def _logreg(c: float = 1.0):
    return make_pipeline(MaxAbsScaler(), LogisticRegression(C=c, max_iter=2000))


def _fit(model, features, y):
    # One BLAS thread: these problems are small, and on a busy machine several BLAS threads
    # made a 30-sequence fit 10x slower (measured: 1.5 s vs 0.17 s).
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(features, y)


def _validation_score(model, features, y: np.ndarray, n_classes: int) -> tuple[float, float]:
    """(accuracy, -log loss) on validation: accuracy first, log loss breaks the many ties of a
    tiny validation split; both higher-is-better so ``max`` picks the best candidate."""
    if len(y) == 0:
        return 0.0, 0.0
    proba = np.clip(_full_probabilities(model, features, n_classes), 1e-6, 1.0)
    proba /= proba.sum(1, keepdims=True)
    accuracy = float((proba.argmax(1) == y).mean())
    return accuracy, -float(log_loss(y, proba, labels=list(range(n_classes))))


def _select_and_score(candidates: dict, make_model, train, val, test, n_classes: int) -> dict:
    """Fit one model per candidate on train, keep the best on val, score it on test.

    ``candidates``: ``{setting: (train features, val features, test features)}``.
    """
    y_train, y_val, y_test = _labels(train), _labels(val), _labels(test)
    best = None
    for setting, (f_train, f_val, f_test) in candidates.items():
        model = _fit(make_model(setting), f_train, y_train)
        score = _validation_score(model, f_val, y_val, n_classes)
        if best is None or score > best[0]:
            best = (score, setting, model, f_test)
    score, setting, model, f_test = best
    result = multiclass_metrics(y_test, _full_probabilities(model, f_test, n_classes))
    result["val_accuracy"] = score[0]
    return result, setting


def classification_baselines(
    train_samples: Sequence[dict],
    val_samples: Sequence[dict],
    test_samples: Sequence[dict],
    n_classes: int,
    kmer_sizes: Sequence[int] = KMER_SIZES,
) -> dict[str, dict]:
    """``{name: multiclass_metrics on test + chosen setting}`` of the biologist's baselines.

    ``n_classes``: number of classes (a binary task's ``n_classes = 1`` counts as 2).
    ``onehot_logreg`` is present only when all sequences share one length.
    """
    n_classes = max(2, int(n_classes))
    if len(train_samples) == 0 or len(test_samples) == 0:
        return {}
    if len(np.unique(_labels(train_samples))) < 2:
        return {}  # nothing to fit; the majority baseline already covers this case
    profiles = {
        k: tuple(kmer_profiles(s, k) for s in (train_samples, val_samples, test_samples)) for k in kmer_sizes
    }
    out = {}
    scores, k = _select_and_score(profiles, lambda _k: _logreg(), train_samples, val_samples, test_samples, n_classes)
    out["kmer_logreg"] = {**scores, "k": k}
    scores, k = _select_and_score(
        profiles,
        lambda _k: KNeighborsClassifier(n_neighbors=1, metric="cosine"),
        train_samples,
        val_samples,
        test_samples,
        n_classes,
    )
    out["kmer_1nn"] = {**scores, "k": k}
    lengths = {int(s["length"]) for split in (train_samples, val_samples, test_samples) for s in split}
    if len(lengths) == 1:
        width = 5 * lengths.pop()
        features = tuple(positional_one_hot(s) if len(s) else np.zeros((0, width), dtype=np.float32)
                         for s in (train_samples, val_samples, test_samples))
        candidates = {c: features for c in ONEHOT_C}
        scores, c = _select_and_score(candidates, _logreg, train_samples, val_samples, test_samples, n_classes)
        out["onehot_logreg"] = {**scores, "C": c}
        with_pairs = tuple(np.hstack([f, positional_pairs(s) if len(s) else np.zeros((0, 16 * (width // 5 - 1)), np.float32)])
                           for f, s in zip(features, (train_samples, val_samples, test_samples), strict=True))  # fmt: skip
        scores, c = _select_and_score({c: with_pairs for c in ONEHOT_C}, _logreg, train_samples, val_samples,
                                      test_samples, n_classes)  # fmt: skip
        out["onehot_pairs_logreg"] = {**scores, "C": c}
        out["onehot_pairs_svm"] = rbf_svm_scores(with_pairs[0], _labels(train_samples), with_pairs[2],
                                                 _labels(test_samples), n_classes)
    return out


def rbf_svm_scores(train_features: np.ndarray, y_train: np.ndarray, test_features: np.ndarray,
                   y_test: np.ndarray, n_classes: int, max_train: int | None = None, seed: int = 0) -> dict:
    """Test accuracy and macro-F1 of an RBF support-vector machine with scikit-learn's default
    ``C`` and ``gamma`` (no choice on validation: the defaults are what one tries first, and the
    class scores of an SVM are not probabilities to compare by log loss)."""
    n_train = len(y_train)
    max_train = svm_max_train(train_features.shape[1]) if max_train is None else max_train
    if n_train > max_train:
        keep = _stratified_subset(y_train, max_train, seed)
        train_features, y_train = train_features[keep], y_train[keep]
    predicted = _fit(SVC(kernel="rbf"), train_features, y_train).predict(test_features)
    return {**multiclass_metrics(y_test, np.eye(n_classes)[predicted.astype(int)]), "kernel": "rbf",
            "n_train_fitted": int(len(y_train)), "n_train": int(n_train)}  # fmt: skip


def _stratified_subset(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Rows of a seeded ``size``-row subset with the class proportions of ``y``. A class with a
    single row, which stratified sampling refuses, keeps that row."""
    classes, counts = np.unique(y, return_counts=True)
    single = np.flatnonzero(np.isin(y, classes[counts < 2]))
    rest = np.setdiff1d(np.arange(len(y)), single)
    keep, _ = next(StratifiedShuffleSplit(1, train_size=size - len(single), random_state=seed).split(rest, y[rest]))
    return np.concatenate([single, rest[keep]])


def kmer_profile_adds_to_positions(samples: Sequence[dict], n_classes: int, k: int, folds: int = 5,
                                   seed: int = 0, margin: float = 0.02) -> dict:
    """Does a k-mer profile add to the positional one-hot bases of aligned windows?

    Cross-validated (stratified ``folds`` over ``samples``: the training and validation splits,
    never test) log loss of logistic regression on the positional one-hot bases alone and with
    the both-strand k-mer profile beside them. Measured on the shared samples: the profile lifts
    promoters (motifs that move a few bases) and hurts splice sites (where only positions count),
    so a wide-and-deep classifier takes it only where this cheap check says it clearly helps
    (log loss down by more than ``margin``; on splice sites the two tie within 2 %, on promoters
    the profile cuts it by 6-20 %). Returns ``{"positions": log loss, "positions_and_kmers": log loss, "adds": bool}``.
    """
    n_classes = max(2, int(n_classes))
    y = _labels(samples)
    n_splits = min(folds, int(np.bincount(y, minlength=n_classes)[np.unique(y)].min()))
    if n_splits < 2:
        return {"positions": None, "positions_and_kmers": None, "adds": False}
    positions = positional_one_hot(samples)
    both = sparse.hstack([sparse.csr_matrix(positions), kmer_profiles(samples, k)]).tocsr()
    losses = {"positions": [], "positions_and_kmers": []}
    for train, test in StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(positions, y):
        for name, features in (("positions", positions), ("positions_and_kmers", both)):
            model = _fit(_logreg(0.1), features[train], y[train])
            proba = np.clip(_full_probabilities(model, features[test], n_classes), 1e-6, 1.0)
            losses[name].append(log_loss(y[test], proba / proba.sum(1, keepdims=True), labels=list(range(n_classes))))
    out = {name: float(np.mean(values)) for name, values in losses.items()}
    return {**out, "adds": out["positions_and_kmers"] < (1 - margin) * out["positions"]}
