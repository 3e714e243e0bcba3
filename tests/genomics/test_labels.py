import gzip
from pathlib import Path

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


# ---------------------------------------------------------------- labels-table variants (issue 15)
# file name, bytes -> the columns and first data row that must be read.
TABLE_VARIANTS = {
    "one column named with an s": ("ids.tsv", b"accession\nZ1.1\nZ2.1\n", ["accession"], ["Z1.1"]),
    "one column, comma in a cell": ("ids.csv", b"accession\nZ1.1,x\n", ["accession"], ["Z1.1,x"]),
    "comma separated": ("l.csv", b"id,label\nZ1,Paph\n", ["id", "label"], ["Z1", "Paph"]),
    "tab separated, comma in a label": (
        "l.tsv", b"id\tlabel\nZ1\tPaph, sp.\n", ["id", "label"], ["Z1", "Paph, sp."]
    ),
    "old-Mac \\r line ends": ("l.tsv", b"id\tlabel\rZ1\tPaph\rZ2\tCyp\r", ["id", "label"], ["Z1", "Paph"]),
    "BOM and \\r\\n": ("l.CSV", b"\xef\xbb\xbfid,label\r\nZ1,Paph\r\n", ["id", "label"], ["Z1", "Paph"]),
    "padded header names": ("l.tsv", b" id \t label \nZ1\tPaph\n", ["id", "label"], ["Z1", "Paph"]),
    "gzip": ("l.tsv.gz", gzip.compress(b"id\tlabel\nZ1\tPaph\n"), ["id", "label"], ["Z1", "Paph"]),
    "blank cell kept as text": ("l.tsv", b"id\tlabel\nZ1\t\n", ["id", "label"], ["Z1", ""]),
}


@pytest.mark.parametrize("case", list(TABLE_VARIANTS), ids=list(TABLE_VARIANTS))
def test_labels_table_delimiter_is_decided_from_the_header(case, tmp_path):
    name, content, columns, first_row = TABLE_VARIANTS[case]
    (tmp_path / name).write_bytes(content)
    table = read_labels_table(tmp_path / name)
    assert list(table.columns) == columns
    assert table.iloc[0].tolist() == first_row


def test_one_column_table_fails_naming_its_real_column(tmp_path):
    (tmp_path / "ids.tsv").write_text("accession\nx1\n")
    with pytest.raises(ValueError, match=r"no label column 'label'; columns present: \['accession'\]"):
        match_labels(_clean(["x1"]), read_labels_table(tmp_path / "ids.tsv"), id_column="accession")


def test_blank_cells_are_rejected_by_row_and_the_rest_labelled(tmp_path):
    (tmp_path / "l.csv").write_text("id,label\nx1,a\nx2,\n,b\nx3,b\n")
    for table in (read_labels_table(tmp_path / "l.csv"), pd.read_csv(tmp_path / "l.csv", dtype=str)):
        labelled, unmatched = match_labels(_clean(["x1", "x2", "x3"]), table)
        assert labelled["label"].tolist() == ["a", "b"]
        assert sorted(labelled["label"].unique()) == ["a", "b"]  # was a float/str TypeError
        assert unmatched["sequences_without_label"] == ["x2"]
        rejected = [(r["row"], r["field"], r["reason"]) for r in unmatched["rejected_label_rows"]]
        assert rejected == [
            (2, "label", "row 2 (line 3): blank label in column 'label' for id 'x2'"),
            (3, "id", "row 3 (line 4): blank id in column 'id' (label 'b')"),
        ]
    assert unmatched["rejected_label_rows"][0]["source_file"] == "labels table"


def test_labels_are_stripped_and_case_variants_merged_into_the_most_frequent_spelling():
    ids = ["s1", "s2", "s3", "s4", "s5", "s6"]
    table = pd.DataFrame(
        {"id": ids, "label": ["Paphiopedilum ", "paphiopedilum", " Paphiopedilum", "Cyp", "cyp", "Phr"]}
    )
    labelled, unmatched = match_labels(_clean(ids), table)
    assert labelled["label"].tolist() == ["Paphiopedilum"] * 3 + ["Cyp", "Cyp", "Phr"]
    assert unmatched["label_case_variants"] == {"Paphiopedilum": ["paphiopedilum"], "Cyp": ["cyp"]}


def test_real_orchid_table_with_mac_line_ends_spaces_case_and_a_blank(shared_data, tmp_path):
    folder = shared_data / "ls_orchid"
    lines = (folder / "labels.tsv").read_text().splitlines()
    header, rows = lines[0], [line.split("\t") for line in lines[1:]]
    rows[0][1] += " "  # Cypripedium + trailing space
    paph = [row for row in rows if row[1] == "Paphiopedilum"]
    paph[0][1] = "paphiopedilum"
    paph[1][1] = ""
    text = "\r".join([header] + ["\t".join(row) for row in rows]) + "\r"
    (tmp_path / "labels.tsv").write_text(text)
    table = read_labels_table(tmp_path / "labels.tsv")
    clean, _, _ = validate_dna_records(read_sequence_records(folder / "ls_orchid.fasta"))
    labelled, unmatched = match_labels(clean, table, id_column="accession", label_column="genus")
    assert labelled["label"].value_counts().to_dict() == {
        "Paphiopedilum": 19, "Cypripedium": 5, "Phragmipedium": 5,
    }  # fmt: skip
    assert unmatched["label_case_variants"] == {"Paphiopedilum": ["paphiopedilum"]}
    assert [r["field"] for r in unmatched["rejected_label_rows"]] == ["genus"]
    assert len(unmatched["sequences_without_label"]) == 1


def test_catalog_entry_reads_through_the_header_rule(tmp_path):
    import yaml
    from kedro.io import DataCatalog

    entry = yaml.safe_load((Path(__file__).parents[2] / "conf/base/catalog.yml").read_text())[
        "dna_classify.labels_table"
    ]
    (tmp_path / "ids.tsv").write_text("accession\rZ1\rZ2\r")
    catalog = DataCatalog.from_config({"t": {**entry, "filepath": str(tmp_path / "ids.tsv")}})
    assert catalog.load("t")["accession"].tolist() == ["Z1", "Z2"]
