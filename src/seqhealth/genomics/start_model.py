"""Which start codon of an open reading frame is the gene's: a start model learnt from training genes.

An ORF often holds several in-frame start codons before its stop; the coding score alone prefers
the longest stretch that still looks coding, which is right for only about two genes in three.
Prodigal scores each start by its codon (ATG > GTG > TTG), the ribosome-binding site upstream
(the Shine-Dalgarno motif AGGAGG some 5-10 bases before the start) and the base composition
around it, with weights learnt on the genome itself. This module does the same on the annotated
genes of the TRAINING loci:

* a position weight matrix: log-ratio of each base at positions -20..+14 around true starts vs
  the alternative starts of the same genes (the in-frame starts sharing their stop);
* a ribosome-binding-site score: the best upstream 4-mer log-ratio (true vs alternative starts)
  in the Shine-Dalgarno window, wherever the motif sits in it;
* a conditional logit over the alternatives of each gene (features: start codon, the two scores
  above, how many starts lie further upstream) fitted by maximum likelihood.

``start_log_probabilities`` gives every candidate ORF ``log P(this start | its stop)``; the decoder
adds it (times ``start_weight``) to the ORF's coding score.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from seqhealth.genomics.alphabet import A, T
from seqhealth.genomics.codons import reverse_complement

_OFFSETS = np.concatenate(
    [np.arange(-20, 0), np.arange(3, 15)]
)  # around the start codon's first base
_RBS_K = 4
_RBS_WINDOW = (-20, -4)  # 4-mers starting 20..5 bases upstream (Shine-Dalgarno)
_L2 = 0.01  # ridge on the logit's coefficients (a few hundred genes per genome)
FEATURES = ("GTG", "TTG", "pwm", "rbs", "upstream_starts")


def _strand_starts(length: int, orfs: dict) -> tuple[np.ndarray, np.ndarray]:
    """(strand, position of the start codon's first base on its own strand) of each ORF."""
    forward = np.asarray(orfs["strand"]) > 0
    return forward, np.where(forward, orfs["begin"], length - np.asarray(orfs["end"]))


def _bases_around(tokens: np.ndarray, orfs: dict) -> np.ndarray:
    """int64[n, len(_OFFSETS)]: base (0 A .. 3 T, -1 N or off the record) around each start."""
    tokens = np.asarray(tokens, dtype=np.int64)
    length = len(tokens)
    forward, start = _strand_starts(length, orfs)
    positions = start[:, None] + _OFFSETS[None, :]
    inside = (positions >= 0) & (positions < length)
    safe = np.clip(positions, 0, max(length - 1, 0))
    strands = np.stack([tokens, reverse_complement(tokens).astype(np.int64)])
    bases = strands[np.where(forward, 0, 1)[:, None], safe] - A
    return np.where(inside & (bases >= 0) & (bases <= T - A), bases, -1)


def _rbs_codes(tokens: np.ndarray, orfs: dict) -> np.ndarray:
    """int64[n, w]: codes of the upstream 4-mers in the Shine-Dalgarno window (-1 with N / off)."""
    bases = _bases_around(tokens, orfs)
    first = int(np.flatnonzero(_OFFSETS == _RBS_WINDOW[0])[0])
    codes = []
    for offset in range(_RBS_WINDOW[1] - _RBS_WINDOW[0]):
        window = bases[:, first + offset : first + offset + _RBS_K]
        value = (window * 4 ** np.arange(_RBS_K - 1, -1, -1)).sum(axis=1)
        codes.append(np.where((window >= 0).all(axis=1), value, -1))
    return np.stack(codes, axis=1)


def _groups(length: int, orfs: dict) -> np.ndarray:
    """int64[n]: one id per (strand, stop codon): the alternative starts of one ORF share it."""
    forward = np.asarray(orfs["strand"]) > 0
    stop = np.where(forward, np.asarray(orfs["end"]), length + np.asarray(orfs["begin"]))
    return np.unique(stop, return_inverse=True)[1].reshape(-1)


def _upstream_starts(length: int, orfs: dict, groups: np.ndarray) -> np.ndarray:
    """float64[n]: log(1 + number of in-frame starts further from the stop than this one)."""
    _, start = _strand_starts(length, orfs)
    order = np.lexsort((start, groups))
    rank = np.empty(len(order), dtype=np.int64)
    first_of_group = np.r_[True, groups[order][1:] != groups[order][:-1]]
    group_start = np.maximum.accumulate(np.where(first_of_group, np.arange(len(order)), 0))
    rank[order] = np.arange(len(order)) - group_start
    return np.log1p(rank)


def _features(tokens: np.ndarray, orfs: dict, model: dict, groups: np.ndarray) -> np.ndarray:
    kind = np.asarray(orfs["start_codon"])
    bases = _bases_around(tokens, orfs)
    pwm = np.asarray(model["pwm"], dtype=np.float64)
    pwm_score = np.where(
        bases >= 0, pwm[np.arange(len(_OFFSETS))[None, :], np.maximum(bases, 0)], 0.0
    ).sum(axis=1)
    rbs = np.asarray(model["rbs"], dtype=np.float64)
    codes = _rbs_codes(tokens, orfs)
    rbs_score = np.where(codes >= 0, rbs[np.maximum(codes, 0)], 0.0).max(axis=1, initial=0.0)
    upstream = _upstream_starts(len(tokens), orfs, groups)
    return np.stack(
        [kind == 1, kind == 2, pwm_score, np.maximum(rbs_score, 0.0), upstream], axis=1
    ).astype(np.float64)


def _group_log_softmax(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    peak = np.full(groups.max() + 1 if len(groups) else 0, -np.inf)
    np.maximum.at(peak, groups, scores)
    total = np.zeros_like(peak)
    np.add.at(total, groups, np.exp(scores - peak[groups]))
    return scores - peak[groups] - np.log(total[groups])


def fit_start_model(examples: list[tuple[np.ndarray, dict, np.ndarray]]) -> dict | None:
    """The start model from ``(tokens, candidate ORFs, index of the true start ORF of each gene)``
    per training locus; None with fewer than 20 genes that have an alternative start."""
    sets = []
    for tokens, orfs, true_index in examples:
        if len(true_index) == 0:
            continue
        groups = _groups(len(tokens), orfs)
        keep = np.isin(groups, groups[true_index])  # the alternatives of annotated genes only
        label = np.zeros(len(groups), dtype=bool)
        label[true_index] = True
        sub = {key: np.asarray(value)[keep] for key, value in orfs.items()}
        sets.append(
            (tokens, sub, label[keep], np.unique(groups[keep], return_inverse=True)[1].reshape(-1))
        )
    n_genes = sum(int(label.sum()) for *_, label, _ in sets)
    n_alternatives = sum(len(label) for *_, label, _ in sets) - n_genes
    if n_genes < 20 or n_alternatives < 20:
        return None
    true_counts, all_counts = np.ones((len(_OFFSETS), 4)), np.ones((len(_OFFSETS), 4))
    rbs_true, rbs_all = np.ones(4**_RBS_K), np.ones(4**_RBS_K)
    for tokens, sub, label, _ in sets:
        bases, codes = _bases_around(tokens, sub), _rbs_codes(tokens, sub)
        for rows, target, rbs_target in (
            (label, true_counts, rbs_true),
            (~label, all_counts, rbs_all),
        ):
            chosen = bases[rows]
            row, column = np.nonzero(chosen >= 0)
            np.add.at(target, (column, chosen[row, column]), 1)
            for row in codes[rows]:
                rbs_target[np.unique(row[row >= 0])] += 1
    pwm = np.log(true_counts / true_counts.sum(axis=1, keepdims=True)) - np.log(
        all_counts / all_counts.sum(axis=1, keepdims=True)
    )
    rbs = np.log(rbs_true / (n_genes + 2)) - np.log(rbs_all / (n_alternatives + 2))
    model = {"pwm": pwm.astype(np.float32), "rbs": rbs.astype(np.float32)}
    design = [
        (_features(tokens, sub, model, groups), label, groups)
        for tokens, sub, label, groups in sets
    ]

    def loss(beta: np.ndarray) -> float:
        total = 0.0
        for x, label, groups in design:
            total -= _group_log_softmax(x @ beta, groups)[label].sum()
        return total / n_genes + _L2 * float(beta @ beta)

    beta = minimize(loss, np.zeros(len(FEATURES)), method="L-BFGS-B").x
    return {**model, "coef": beta.astype(np.float64).tolist(), "n_genes": n_genes}


def start_log_probabilities(tokens: np.ndarray, orfs: dict, model: dict) -> np.ndarray:
    """float64[n]: ``log P(start | stop)`` of each candidate ORF among the ORFs sharing its stop."""
    if len(orfs["begin"]) == 0:
        return np.zeros(0)
    groups = _groups(len(tokens), orfs)
    scores = _features(tokens, orfs, model, groups) @ np.asarray(model["coef"], dtype=np.float64)
    return _group_log_softmax(scores, groups)
