import numpy as np
import pandas as pd

from seqhealth.genomics.readers import RAW_COLUMNS
from seqhealth.genomics.validation import validate_dna_records
from seqhealth.quality import QUARANTINE_COLUMNS


def raw(*records):
    rows = []
    for record in records:
        record_id, sequence, *rest = record
        cds = rest[0] if rest else []
        rows.append(("in.fa", record_id, record_id, sequence, cds, "fasta"))
    return pd.DataFrame(rows, columns=RAW_COLUMNS)


def test_repairs_are_counted_and_tokens_added():
    clean, quarantine, report = validate_dna_records(
        raw(("a", "acgtAC"), ("b", "ACRYN"), ("c", "ACGT"))
    )
    assert len(quarantine) == 0 and list(quarantine.columns) == QUARANTINE_COLUMNS
    assert clean["tokens"].iloc[0].tolist() == [1, 2, 3, 4, 1, 2]
    assert clean["tokens"].iloc[1].tolist() == [1, 2, 5, 5, 5]
    assert clean["tokens"].iloc[0].dtype == np.uint8
    assert clean["length"].tolist() == [6, 5, 4]
    assert report["n_softmasked_uppercased"] == 1 and report["n_softmasked_bases"] == 4
    assert report["n_ambiguous_bases"] == 2 and report["n_ambiguous_records"] == 1
    assert report["records_in"] == 3 == report["records_kept"] + report["records_quarantined"]


def test_one_quarantine_row_per_bad_record_and_first_valid_duplicate_kept():
    clean, quarantine, report = validate_dna_records(
        raw(
            ("dup", "AC-G"),  # invalid: quarantined, so the next "dup" is the kept one
            ("dup", "ACGT"),
            ("dup", "GGGG"),
            ("empty", ""),
            ("cds", "ACGTACGT", [[(2, 12, 1)]]),
        )
    )
    assert clean["sequence"].tolist() == ["ACGT"]
    assert quarantine["field"].tolist() == ["sequence", "record_id", "sequence", "cds_parts"]
    assert report["records_quarantined"] == 4 and report["records_kept"] == 1


def test_non_ascii_sequence_falls_back_to_per_record_verdicts():
    clean, quarantine, _ = validate_dna_records(raw(("a", "ACGé"), ("b", "acgt")))
    assert clean["record_id"].tolist() == ["b"]
    assert "'é' at position 3" in quarantine["reason"].iloc[0]
