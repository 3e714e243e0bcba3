"""Codons on the token alphabet: start and stop codons, reverse complement, codon lookup.

Shared by the ORF decoder (``gene_calls``) and the gene statistics (``codon_model``), which
import it instead of each other.
"""

from __future__ import annotations

import numpy as np

from seqhealth.genomics.alphabet import A, C, G, N, T

START_CODONS = ((A, T, G), (G, T, G), (T, T, G))  # index 0, 1, 2 in ``start_codon``
STOP_CODONS = ((T, A, A), (T, A, G), (T, G, A))
_COMPLEMENT = np.array([0, T, G, C, A, N], dtype=np.uint8)  # PAD A C G T N -> PAD T G C A N


def reverse_complement(tokens: np.ndarray) -> np.ndarray:
    return _COMPLEMENT[np.asarray(tokens, dtype=np.uint8)[::-1]]


def codon_index(tokens: np.ndarray, codons) -> np.ndarray:
    """int8[L]: index in ``codons`` of the codon starting at each position, -1 when none."""
    tokens = np.asarray(tokens)
    hit = np.full(len(tokens), -1, dtype=np.int8)
    if len(tokens) < 3:
        return hit
    first, second, third = tokens[:-2], tokens[1:-1], tokens[2:]
    for index, (a, b, c) in enumerate(codons):
        hit[:-2][(first == a) & (second == b) & (third == c)] = index
    return hit
