"""Gene-structure decoding: candidate ORFs, frame classes, the overlap-limited selection, gene
metrics, and calls on a real genome that are real ORFs."""

from __future__ import annotations

import numpy as np
import pytest

from seqhealth.genomics.alphabet import encode
from seqhealth.genomics.gene_calls import (
    call_genes,
    calls_track,
    candidate_orfs,
    orf_classes,
    reverse_complement,
    select_genes,
    unscorable_reason,
)
from seqhealth.genomics.gene_metrics import gene_level_metrics
from seqhealth.genomics.labels import frame_track

# A forward gene (ATG ... TAA, 33 codons = 99 nt) between two stretches that hold no start codon.
GENE = "ATG" + "GCT" * 31 + "TAA"
SEQUENCE = "CCCCC" + GENE + "CCCCC"


def _decode(tokens: np.ndarray, **decoder) -> dict:
    return call_genes(
        tokens, np.full(len(tokens), 0.9), {"bias": 0.0, "codon_weight": 0.0, **decoder}
    )


def test_candidate_orf_forward_and_its_reverse_complement():
    tokens = encode(SEQUENCE)
    orfs = candidate_orfs(tokens)
    forward = orfs["strand"] > 0
    assert (orfs["begin"][forward] == 5).any() and (
        orfs["end"][forward][orfs["begin"][forward] == 5] == 104
    ).all()
    rc = reverse_complement(tokens)
    rc_orfs = candidate_orfs(rc)
    # The same gene read on the other strand: coordinates mirror, strand flips.
    hit = (
        (rc_orfs["strand"] < 0)
        & (rc_orfs["begin"] == len(rc) - 104)
        & (rc_orfs["end"] == len(rc) - 5)
    )
    assert hit.sum() == 1 and rc_orfs["start_codon"][hit][0] == 0  # ATG


def test_min_length_counts_the_stop_codon_and_n_is_no_codon():
    short = encode("CC" + "ATG" + "GCT" * 28 + "TAA" + "CC")  # 90 nt with the stop
    assert len(candidate_orfs(short, 90)["begin"]) >= 1
    assert len(candidate_orfs(short, 93)["begin"]) == 0
    masked = encode("CC" + "ANG" + "GCT" * 28 + "TAA" + "CC")
    assert not (
        (candidate_orfs(masked, 90)["begin"] == 2) & (candidate_orfs(masked, 90)["strand"] > 0)
    ).any()


def test_frame_classes_of_labels_and_orfs_agree_on_both_strands():
    tokens = encode(SEQUENCE)
    for strand_tokens, strand in ((tokens, 1), (reverse_complement(tokens), -1)):
        orfs = candidate_orfs(strand_tokens)
        i = int(np.argmax(orfs["end"] - orfs["begin"]))
        begin, end = int(orfs["begin"][i]), int(orfs["end"][i])
        assert orfs["strand"][i] == strand
        track = frame_track(len(strand_tokens), [[(begin, end, strand)]])
        assert set(track[begin:end]) == {1 + orf_classes(orfs)[i]}
        assert track[:begin].max(initial=0) == 0 and track[end:].max(initial=0) == 0


def test_selection_keeps_the_heavier_of_overlapping_genes_and_allows_short_overlaps():
    begin, end = np.array([0, 50, 400, 480]), np.array([300, 500, 500, 900])
    weight = np.array([5.0, 4.0, 1.0, 3.0])
    # 1 overlaps 0 by 250 bases: never both. 2 and 3 overlap by 20 bases: allowed at 30, not at 0.
    assert select_genes(begin, end, weight, max_overlap=30).tolist() == [0, 2, 3]
    assert select_genes(begin, end, weight, max_overlap=0).tolist() == [0, 3]
    assert len(select_genes(begin, end, -weight)) == 0


def test_decoded_gene_and_its_track():
    tokens = encode(SEQUENCE)
    calls = _decode(tokens)
    assert (calls["begin"] == 5).any() and (calls["end"] == 104).any()
    track = calls_track(calls, len(tokens))
    assert track[5:104].all()


def test_gene_metrics_count_stops_and_exact_matches():
    records = {"r": {"length": 1000, "cds_parts": [[(100, 400, 1)], [(500, 800, -1)]]}}
    calls = {
        "r": {
            "begin": np.array([130, 500]),
            "end": np.array([400, 860]),
            "strand": np.array([1, -1]),
        }
    }
    m = gene_level_metrics(records, calls, [("r", 0, 1000)])
    assert m["stop_sensitivity"] == 1.0 and m["stop_precision"] == 1.0  # both 3' ends match
    assert m["exact_sensitivity"] == 0.0  # neither start matches
    only_first = gene_level_metrics(
        records, calls, [("r", 0, 450)]
    )  # the - gene's 3' end is at 500
    assert only_first["n_annotated"] == 1 and only_first["n_called"] == 1


@pytest.mark.parametrize(
    ("sequence", "reason"),
    [
        ("AC", "shorter than one codon"),
        ("N" * 500, "only N"),
        ("ATGTAA" * 60, "no open reading frame"),
    ],
)
def test_records_without_a_possible_gene_say_why(sequence, reason):
    assert reason in unscorable_reason(encode(sequence))
    assert unscorable_reason(encode(SEQUENCE)) is None


def test_decoder_settings_survive_the_round_trip_through_the_bundle():
    from seqhealth.genomics.gene_finder import DEFAULT_DECODER, decoder_with

    tuned = {key: 0.123 for key in DEFAULT_DECODER}
    kept = decoder_with({"start_log_ratio": [0.0, 0.0, 0.0]}, tuned)
    assert {key: kept[key] for key in DEFAULT_DECODER} == tuned  # every setting tuning may choose
