import numpy as np
import pandas as pd
import pytest

from seqhealth.genomics.labels import coding_track, match_labels
from seqhealth.genomics.labels_table import read_labels_table
from seqhealth.genomics.readers import read_sequence_records
from seqhealth.genomics.validation import validate_dna_records


def test_coding_track_joins_on_both_strands_leave_introns_zero():
    cds = [[(2, 5, 1), (8, 10, 1)], [(14, 16, -1), (11, 12, -1)], [(3, 4, 1)]]
    track = coding_track(18, cds)
    assert track.dtype == np.uint8
    assert track.tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0]
    assert coding_track(5, []).tolist() == [0] * 5


def test_coding_fraction_of_real_genomes_matches_the_shared_readme(shared_data):
    clean, _, _ = validate_dna_records(read_sequence_records(shared_data / "genome_cds"))
    fractions = {
        row.record_id: coding_track(row.length, row.cds_parts).mean() for row in clean.itertuples()
    }
    assert fractions["NC_000913.3_0_300000"] == pytest.approx(0.864, abs=5e-4)
    assert fractions["AC007323.5"] == pytest.approx(0.296, abs=5e-4)  # arab1: introns excluded
    assert fractions["NC_000932.1"] == pytest.approx(0.513, abs=5e-4)
    arab = clean.set_index("record_id").loc["AC007323.5"]
    multi_part = [parts for parts in arab["cds_parts"] if len(parts) > 1]
    assert len(multi_part) == 16
    assert {strand for parts in multi_part for _, _, strand in parts} == {1, -1}


def test_all_thirty_orchids_match_their_genus_via_ncbi_id_fields(shared_data):
    folder = shared_data / "ls_orchid"
    clean, _, _ = validate_dna_records(read_sequence_records(folder / "ls_orchid.fasta"))
    table = read_labels_table(folder / "labels.tsv")
    labelled, unmatched = match_labels(clean, table, id_column="accession", label_column="genus")
    assert len(labelled) == 30
    assert unmatched == {"sequences_without_label": [], "labels_without_sequence": [],
                         "rejected_label_rows": [], "label_case_variants": {}}  # fmt: skip
    first = labelled.iloc[0]
    assert first["record_id"].startswith("gi|2765648|emb|Z78523.1|")
    assert first["label_id"] == "Z78523.1" and first["label"] == "Cypripedium"
    assert labelled["label"].value_counts().to_dict() == {
        "Paphiopedilum": 20,
        "Cypripedium": 5,
        "Phragmipedium": 5,
    }


def _clean(ids, descriptions=None):
    descriptions = descriptions or ids
    return pd.DataFrame(
        {"record_id": ids, "description": descriptions, "sequence": ["ACGT"] * len(ids)}
    )


def test_unmatched_on_both_sides_are_listed_and_header_token_is_tried():
    clean = _clean(["x1", "gi|7|emb|ACC1.1|", "lonely"], ["x1", "gi|7|emb|ACC1.1| desc", "lonely"])
    table = pd.DataFrame({"id": ["x1", "ACC1.1", "orphan"], "label": ["a", "b", "c"]})
    labelled, unmatched = match_labels(clean, table)
    assert labelled["label"].tolist() == ["a", "b"]
    assert unmatched == {
        "sequences_without_label": ["lonely"],
        "labels_without_sequence": ["orphan"],
        "rejected_label_rows": [],
        "label_case_variants": {},
    }


def test_ambiguous_match_and_missing_column_raise_clear_errors():
    clean = _clean(["gi|7|emb|ACC1.1|"])
    table = pd.DataFrame({"id": ["7", "ACC1.1"], "label": ["a", "b"]})
    with pytest.raises(ValueError, match=r"several rows.*'7'.*'ACC1\.1'"):
        match_labels(clean, table)
    with pytest.raises(ValueError, match=r"no label column 'genus'.*\['id', 'label'\]"):
        match_labels(clean, table, label_column="genus")
