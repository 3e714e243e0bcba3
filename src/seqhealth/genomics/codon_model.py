"""In-frame hexamer (dicodon) statistics of training genes: the coding score gene finders use.

GeneMark and Prodigal score an ORF by how much more its in-frame hexamers look like those of
known genes than like the genome at large. Here the genes are the annotated CDS of the TRAINING
loci, the background every hexamer of those loci on both strands; the table is small (4,096
log-ratios) and travels in the model bundle. It decides the frame and strand of a call, which a
per-base coding probability cannot: the network says *that* a stretch codes, the hexamers say
*which* of the overlapping ORFs does.
"""

from __future__ import annotations

import numpy as np

from seqhealth.genomics.alphabet import A, N
from seqhealth.genomics.codons import START_CODONS, codon_index, reverse_complement

_K = 6  # dicodons (hexamers) by default; 3 = codon usage alone


def hexamer_codes(tokens: np.ndarray, k: int = _K) -> np.ndarray:
    """int64[L]: code (0..4**k-1) of the k-mer starting at each position; -1 with an N or past the end."""
    tokens = np.asarray(tokens, dtype=np.int64)
    length = len(tokens)
    codes = np.full(length, -1, dtype=np.int64)
    if length < k:
        return codes
    digits = tokens - A  # A C G T -> 0 1 2 3
    bad = (tokens < A) | (tokens >= N)
    value = np.zeros(length - k + 1, dtype=np.int64)
    invalid = np.zeros(length - k + 1, dtype=bool)
    for offset in range(k):
        value = value * 4 + np.where(bad, 0, digits)[offset : length - k + 1 + offset]
        invalid |= bad[offset : length - k + 1 + offset]
    codes[: length - k + 1] = np.where(invalid, -1, value)
    return codes


def fit_codon_model(
    genes: list[np.ndarray],
    background: list[np.ndarray],
    starts: list[int],
    candidate_starts: np.ndarray,
    k: int = _K,
) -> dict:
    """``{"hexamer_log_ratio": float32[4096], "start_log_ratio": [3]}``.

    ``genes``: coding sequences (tokens, start codon first); ``background``: stretches of the same
    loci (both strands are counted); ``starts``: start-codon index of each gene;
    ``candidate_starts``: start-codon index of every candidate ORF of those loci.
    """
    size = 4**k
    in_frame = np.zeros(size)
    for gene in genes:
        codes = hexamer_codes(gene, k)[: max(len(gene) - k + 1, 0) : 3]
        in_frame += np.bincount(codes[codes >= 0], minlength=size)
    overall = np.zeros(size)
    for stretch in background:
        for strand in (stretch, reverse_complement(stretch)):
            codes = hexamer_codes(strand, k)
            overall += np.bincount(codes[codes >= 0], minlength=size)
    gene_freq = (in_frame + 1.0) / (in_frame.sum() + size)
    overall_freq = (overall + 1.0) / (overall.sum() + size)
    true_starts = np.bincount(np.asarray(starts, dtype=np.int64), minlength=3) + 1.0
    all_starts = np.bincount(np.asarray(candidate_starts, dtype=np.int64), minlength=3) + 1.0
    return {
        "hexamer_log_ratio": np.log(gene_freq / overall_freq).astype(np.float32),
        "start_log_ratio": np.log(
            (true_starts / true_starts.sum()) / (all_starts / all_starts.sum())
        ).tolist(),
        "n_genes": len(genes),
    }


def _frame_prefix(values: np.ndarray) -> np.ndarray:
    """prefix[p + 3] = values[p] + values[p - 3] + ... (same frame), prefix[0:3] = 0."""
    prefix = np.zeros(len(values) + 3)
    for frame in range(3):
        prefix[3 + frame :: 3] = np.cumsum(values[frame::3])
    return prefix


def _strand_scores(
    tokens: np.ndarray, first: np.ndarray, last: np.ndarray, table: np.ndarray, k: int
) -> np.ndarray:
    """Sum of k-mer log-ratios at positions first, first+3, ..., last (inclusive) per ORF."""
    codes = hexamer_codes(tokens, k)
    per_position = np.where(codes >= 0, table[np.maximum(codes, 0)], 0.0)
    prefix = _frame_prefix(per_position)
    return prefix[last + 3] - prefix[first]


def orf_hexamer_scores(tokens: np.ndarray, orfs: dict, model: dict) -> np.ndarray:
    """float64[n]: in-frame hexamer score of each candidate ORF, read on its own strand (every
    hexamer from the start codon up to the one ending with the stop codon)."""
    tokens = np.asarray(tokens, dtype=np.uint8)
    length = len(tokens)
    table = np.asarray(model["hexamer_log_ratio"], dtype=np.float64)
    k = int(round(np.log(len(table)) / np.log(4)))
    score = np.zeros(len(orfs["begin"]))
    forward = orfs["strand"] > 0
    begin, end = orfs["begin"], orfs["end"]
    score[forward] = _strand_scores(tokens, begin[forward], end[forward] - k, table, k)
    # Reverse strand: the ORF runs from rc position length-end to length-begin.
    rc_first, rc_end = length - end[~forward], length - begin[~forward]
    score[~forward] = _strand_scores(reverse_complement(tokens), rc_first, rc_end - k, table, k)
    return score


def start_codons_of(tokens: np.ndarray, begin: int, end: int, strand: int) -> int:
    """Start-codon index (0 ATG, 1 GTG, 2 TTG, -1 other) of the gene [begin, end) on ``strand``."""
    codon = tokens[begin : begin + 3] if strand > 0 else reverse_complement(tokens[end - 3 : end])
    return int(codon_index(codon, START_CODONS)[0]) if len(codon) == 3 else -1


# --------------------------------------------------------------------------- start context
_RBS_K = 4
_RBS_WINDOW = (-20, -4)  # 4-mers starting 20..5 bases upstream of the start codon (Shine-Dalgarno)


def _upstream_codes(tokens: np.ndarray, orfs: dict) -> np.ndarray:
    """int64[n, w]: upstream 4-mer codes of each ORF's start on its own strand (-1 off the record)."""
    tokens = np.asarray(tokens, dtype=np.uint8)
    length = len(tokens)
    offsets = np.arange(*_RBS_WINDOW)
    forward = np.asarray(orfs["strand"]) > 0
    # Strand coordinate of the start codon: begin (forward), length - end (reverse strand).
    start = np.where(forward, orfs["begin"], length - np.asarray(orfs["end"]))
    positions = start[:, None] + offsets[None, :]
    inside = (positions >= 0) & (positions < length)
    safe = np.clip(positions, 0, max(length - 1, 0))
    fwd_codes, rev_codes = (
        hexamer_codes(tokens, _RBS_K),
        hexamer_codes(reverse_complement(tokens), _RBS_K),
    )
    codes = np.where(forward[:, None], fwd_codes[safe], rev_codes[safe])
    return np.where(inside, codes, -1)


def fit_start_context(
    tokens_list: list, true_orfs: list[dict], candidate_orfs_list: list[dict]
) -> np.ndarray:
    """float32[256]: log-ratio of upstream 4-mers at annotated starts vs at every candidate start
    (counted once per start); the Shine-Dalgarno signal (AGGA, GGAG, ...) comes out on top."""
    size = 4**_RBS_K

    def counts(orf_sets) -> np.ndarray:
        total = np.zeros(size)
        for tokens, orfs in zip(tokens_list, orf_sets):
            if len(orfs["begin"]) == 0:
                continue
            codes = _upstream_codes(tokens, orfs)
            for row in codes:
                present = np.unique(row[row >= 0])
                total[present] += 1
        return total

    true_counts, all_counts = counts(true_orfs), counts(candidate_orfs_list)
    n_true = max(sum(len(o["begin"]) for o in true_orfs), 1)
    n_all = max(sum(len(o["begin"]) for o in candidate_orfs_list), 1)
    return np.log(((true_counts + 1) / (n_true + 2)) / ((all_counts + 1) / (n_all + 2))).astype(
        np.float32
    )


def start_context_scores(tokens: np.ndarray, orfs: dict, table: np.ndarray) -> np.ndarray:
    """float64[n]: best upstream 4-mer log-ratio in the Shine-Dalgarno window of each start."""
    if len(orfs["begin"]) == 0:
        return np.zeros(0)
    codes = _upstream_codes(tokens, orfs)
    values = np.where(
        codes >= 0, np.asarray(table, dtype=np.float64)[np.maximum(codes, 0)], -np.inf
    )
    best = values.max(axis=1)
    return np.where(np.isfinite(best), np.maximum(best, 0.0), 0.0)
