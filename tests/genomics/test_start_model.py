"""The start model: learnt from genes whose true start follows a Shine-Dalgarno motif while an
in-frame ATG further in does not, it prefers the true start on genes it never saw, on both strands,
and the decoder then calls those starts exactly."""

from __future__ import annotations

import numpy as np

from seqhealth.genomics.alphabet import encode
from seqhealth.genomics.gene_calls import call_genes, candidate_orfs, reverse_complement
from seqhealth.genomics.start_model import fit_start_model, start_log_probabilities

_SENSE = [a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT"]
_BODY_CODONS = [c for c in _SENSE if c not in ("TAA", "TAG", "TGA", "ATG", "GTG", "TTG")]


def _locus(rng: np.random.Generator, n_genes: int) -> tuple[str, list[tuple[int, int]]]:
    """Forward genes: AGGAGG, 6 bases, ATG, 8 codons, a second in-frame ATG (no motif before it),
    40 codons, TAA; every other gene also has an in-frame ATG 5 codons before the motif (the ORF
    runs on upstream without a stop). Returns the sequence and the genes' (begin, end)."""
    parts, genes, position = [], [], 0
    for index in range(n_genes):
        decoy = "ATG" + "".join(rng.choice(_BODY_CODONS, size=5)) if index % 2 else ""
        spacer = "".join(rng.choice(list("AC"), size=30)) + decoy + "AGGAGGACAACA"
        body = "".join(rng.choice(_BODY_CODONS, size=8)) + "ATG" + "".join(rng.choice(_BODY_CODONS, size=40))
        gene = "ATG" + body + "TAA"
        parts += [spacer, gene]
        position += len(spacer)
        genes.append((position, position + len(gene)))
        position += len(gene)
    return "".join(parts) + "CCCCC", genes


def _examples(sequence: str, genes: list[tuple[int, int]]):
    tokens = encode(sequence)
    orfs = candidate_orfs(tokens)
    where = {key: i for i, key in enumerate(zip(orfs["begin"].tolist(), orfs["end"].tolist(), orfs["strand"].tolist()))}
    return tokens, orfs, np.asarray([where[(b, e, 1)] for b, e in genes], dtype=np.int64)


def test_start_model_prefers_the_start_after_the_ribosome_binding_site_on_unseen_genes():
    rng = np.random.default_rng(0)
    model = fit_start_model([_examples(*_locus(rng, 30))])
    assert model is not None and model["n_genes"] == 30
    tokens, orfs, true_index = _examples(*_locus(rng, 10))
    log_p = start_log_probabilities(tokens, orfs, model)
    assert (np.exp(log_p[true_index]) > 0.5).all()
    # The same genes read on the reverse strand: same probabilities for the same starts.
    rc_tokens = reverse_complement(tokens)
    rc_orfs = candidate_orfs(rc_tokens)
    rc_log_p = start_log_probabilities(rc_tokens, rc_orfs, model)
    for i in true_index.tolist():
        begin, end = len(tokens) - orfs["end"][i], len(tokens) - orfs["begin"][i]
        match = (rc_orfs["begin"] == begin) & (rc_orfs["end"] == end) & (rc_orfs["strand"] == -1)
        assert np.isclose(rc_log_p[match][0], log_p[i])


def test_decoder_with_the_start_model_calls_the_annotated_starts():
    rng = np.random.default_rng(1)
    model = {"start_model": fit_start_model([_examples(*_locus(rng, 30))])}
    sequence, genes = _locus(rng, 6)
    tokens = encode(sequence)
    # Every base scored as coding: the longest ORF (the decoy start, every other gene) wins
    # without the start model; with it, the start after the motif.
    decoder = {"bias": 0.0, "codon_weight": 0.0, "network_weight": 0.05}
    with_model = call_genes(tokens, np.full(len(tokens), 0.9), {**decoder, "start_model_weight": 3.0}, model)
    without = call_genes(tokens, np.full(len(tokens), 0.9), {**decoder, "start_model_weight": 0.0}, model)
    assert set(genes) <= set(zip(with_model["begin"].tolist(), with_model["end"].tolist()))
    assert len(set(genes) - set(zip(without["begin"].tolist(), without["end"].tolist()))) == 3


def test_too_few_genes_give_no_start_model():
    rng = np.random.default_rng(2)
    assert fit_start_model([_examples(*_locus(rng, 5))]) is None
    assert fit_start_model([]) is None
