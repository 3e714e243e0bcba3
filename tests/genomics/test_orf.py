"""ORF-length features: hand-checked frames, both strands, and a real genome's coding signal."""

from __future__ import annotations

import numpy as np
import pytest

from seqhealth.genomics.alphabet import encode
from seqhealth.genomics.labels import coding_track
from seqhealth.genomics.orf import N_CODING_FEATURES, coding_features, orf_length_features


def _bases(features: np.ndarray) -> np.ndarray:
    """Undo the log scaling: ORF length in bases."""
    return np.round(np.expm1(features * np.log1p(3000.0)))


def test_forward_frame_orf_ends_at_its_stop_codon():
    #        ATG AAA CCC GGG TAA ATG  (frame +0: 5 codons up to and including TAA, then 1)
    lengths = _bases(orf_length_features(encode("ATGAAACCCGGGTAAATG")))
    assert lengths[:15, 0].tolist() == [15] * 15
    assert lengths[15:, 0].tolist() == [3] * 3


def test_reverse_strand_stops_are_reverse_complements():
    # TTA on the forward strand is TAA read on the reverse strand: it splits the reverse frame.
    lengths = _bases(orf_length_features(encode("CCCTTACCC")))
    assert lengths[:, 3].tolist() == [6] * 6 + [3] * 3  # frame -0: CCC TTA | CCC
    assert set(lengths[:, 0]) == {9.0}  # no forward stop at all


def test_coding_features_shape_and_one_hot():
    features = coding_features(encode("ACGTN"))
    assert features.shape == (5, N_CODING_FEATURES)
    assert features[:, :5].tolist() == np.eye(5).tolist()
    assert np.isfinite(features).all()


def test_real_genes_sit_in_longer_orfs_than_intergenic_bases(shared_data):
    from seqhealth.genomics.readers import read_sequence_records

    record = read_sequence_records(shared_data / "genome_cds" / "NC_000913.3_0_300000.gbk").iloc[0]
    tokens = encode(record["sequence"])
    track = coding_track(len(tokens), record["cds_parts"])
    longest = orf_length_features(tokens).max(axis=1)
    # the ORF feature alone separates E. coli genes from intergenic DNA far better than chance
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(track, longest) > 0.75


@pytest.mark.parametrize("length", [0, 1, 2])
def test_tiny_records(length):
    assert coding_features(encode("A" * length)).shape == (length, N_CODING_FEATURES)
