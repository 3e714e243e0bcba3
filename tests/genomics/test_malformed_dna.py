"""Table-driven: every malformed DNA input gets a precise error or a precise quarantine row.

Each case builds real files in ``tmp_path`` and states the expected outcome:
``raises(type, substring)`` for whole-file failures (the message must also name the file) or
``quarantined(field, substring)`` for a single bad record (one row, the rest of the file kept).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from seqhealth.genomics.labels import match_labels
from seqhealth.genomics.readers import read_sequence_records
from seqhealth.genomics.validation import validate_dna_records
from seqhealth.quality import DataFormatError

from .conftest import genbank_text

GOOD_RECORD = ">good kept record\nACGTACGTAC\n"
GOOD_GENBANK = genbank_text("ACGT" * 300, [[(0, 300, 1)], [(600, 900, -1)]])


@dataclass
class Expect:
    error: type | None = None  # whole-file error class, or None for a quarantine row
    text: str = ""  # substring of the error message / quarantine reason
    field: str | None = None  # quarantine field
    kept: int | None = None  # an input variant that must read whole: this many records, none lost


def raises(error, text):
    return Expect(error=error, text=text)


def quarantined(field, text):
    return Expect(field=field, text=text)


def reads(n_records: int):
    return Expect(kept=n_records)


THREE_RECORDS = ">r1 first\nACGTAC\nGTAC\n>r2 second\nTTTTGG\n>r3 third\nCCCA\nNNAC\n"
FASTQ_TWO = "@q1\nACGT\n+\nIIII\n@q2\nGGCA\n+\nIIHH\n"


def write(name: str, content: str | bytes):
    def build(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path

    return build


def truncated_gzip(tmp_path: Path) -> Path:
    path = tmp_path / "cut.fasta.gz"
    full = gzip.compress((GOOD_RECORD * 200).encode())
    path.write_bytes(full[: len(full) // 2])
    return path


def cds_beyond_end(tmp_path: Path) -> Path:
    bad = genbank_text("ACGT" * 10, [[(0, 9, 1)]], name="BAD1")
    bad = bad.replace("CDS             1..9", "CDS             1..60")
    assert "1..60" in bad
    path = tmp_path / "cds_out.gbk"
    path.write_text(GOOD_GENBANK + bad)
    return path


CASES = {
    "truncated_gzip": (truncated_gzip, raises(DataFormatError, "truncated gzip")),
    "gz_name_but_plain_text": (
        write("plain.fa.gz", GOOD_RECORD),
        raises(DataFormatError, "not gzip-compressed"),
    ),
    "fasta_that_is_really_genbank": (
        write("really_gb.fasta", GOOD_GENBANK),
        raises(DataFormatError, "claims FASTA but starts with 'LOCUS"),
    ),
    "genbank_that_is_really_fastq": (
        write("reads.gbk", "@r1\nACGT\n+\nIIII\n"),
        raises(DataFormatError, "claims GenBank but starts with '@r1' (looks like FASTQ)"),
    ),
    "fasta_with_preamble_text": (
        write("preamble.fa", "Downloaded 2024-01-01\n" + GOOD_RECORD),
        raises(DataFormatError, "claims FASTA but starts with 'Downloaded"),
    ),
    "binary_junk": (
        write("junk.fa", bytes(range(256)) * 4),
        raises(DataFormatError, "binary content"),
    ),
    "non_utf8_bytes": (
        write("latin.fa", b">x\nACGT\xff\xfeACGT\n"),
        raises(DataFormatError, "non-UTF-8 content at byte 7"),
    ),
    "empty_file": (write("empty.fasta", ""), raises(DataFormatError, "empty file")),
    "whitespace_only_file": (write("blank.fq", "\n  \n\n"), raises(DataFormatError, "empty file")),
    "fastq_quality_length_mismatch": (
        write("mismatch.fastq", "@r1\nACGT\n+\nIIII\n@r2\nACGTA\n+\nIII\n"),
        raises(DataFormatError, "FASTQ record 2: Lengths of sequence and quality values differs"),
    ),
    "fastq_missing_plus_line": (
        write("noplus.fastq", "@r1\nACGT\nIIII\n"),
        raises(DataFormatError, "FASTQ record 1"),
    ),
    "genbank_truncated_mid_sequence": (
        write("cut_seq.gbk", GOOD_GENBANK[: GOOD_GENBANK.index("ORIGIN") + 300]),
        raises(DataFormatError, "GenBank record 1: truncated"),
    ),
    "genbank_truncated_in_features": (
        write("cut_feat.gb", GOOD_GENBANK[: GOOD_GENBANK.index("FEATURES") + 60]),
        raises(DataFormatError, "GenBank record 1: ValueError"),
    ),
    "unknown_forced_format": (
        write("x.fa", GOOD_RECORD),
        raises(DataFormatError, "unknown sequence format 'embl'"),
    ),
    "invalid_character_dash": (
        write("gap.fa", GOOD_RECORD + ">bad\nACGT-ACGT\n"),
        quarantined("sequence", "invalid character '-' at position 4"),
    ),
    "rna_uracil": (
        write("rna.fa", GOOD_RECORD + ">bad\nACGUACGU\n"),
        quarantined("sequence", "invalid character 'U' at position 3 (0-based) (RNA base U"),
    ),
    "digits_in_sequence": (
        write("digits.fasta", GOOD_RECORD + ">bad\nAC1GT\n"),
        quarantined("sequence", "invalid character '1' at position 2"),
    ),
    "protein_letters": (
        write("protein.fa", GOOD_RECORD + ">bad\nMKVLE*\n"),
        # M, K and V are IUPAC ambiguity codes (-> N); L is the first non-DNA letter.
        quarantined("sequence", "invalid character 'L' at position 3"),
    ),
    "empty_sequence_record": (
        write("nobases.fa", GOOD_RECORD + ">bad nothing follows\n"),
        quarantined("sequence", "empty sequence"),
    ),
    "header_without_id": (
        write("noid.fa", GOOD_RECORD + ">\nACGT\n"),
        quarantined("record_id", "empty record id"),
    ),
    "duplicate_record_id": (
        write("dups.fa", GOOD_RECORD + ">good again\nTTTT\n"),
        quarantined("record_id", "duplicate record id (first occurrence kept"),
    ),
    "cds_beyond_record_end": (
        cds_beyond_end,
        quarantined("cds_parts", "CDS 1 part (0, 60, strand 1) outside the record of length 40"),
    ),
    # issue 15: line ends and file-name spellings that must read every record
    "fasta_old_mac_cr_only": (write("mac.fasta", THREE_RECORDS.replace("\n", "\r")), reads(3)),
    "fasta_windows_crlf": (write("win.fa", THREE_RECORDS.replace("\n", "\r\n")), reads(3)),
    "fasta_mixed_line_ends": (
        write("mixed.fa", THREE_RECORDS.replace("\n", "\r", 3)), reads(3)
    ),
    "fastq_old_mac_cr_only": (write("mac.fq", FASTQ_TWO.replace("\n", "\r")), reads(2)),
    "genbank_old_mac_cr_only": (
        write("mac.gbk", (GOOD_GENBANK + genbank_text("ACGT" * 30, name="TEST2")).replace("\n", "\r")),
        reads(2),
    ),
    "upper_case_FASTA": (write("ORCHIDS.FASTA", THREE_RECORDS), reads(3)),
    "upper_case_GBK": (write("GENOME.GBK", GOOD_GENBANK), reads(1)),
    "upper_case_FQ_GZ": (write("READS.FQ.GZ", gzip.compress(FASTQ_TWO.encode())), reads(2)),
    "mixed_case_Fa_Gz_with_cr": (
        write("x.Fa.Gz", gzip.compress(THREE_RECORDS.replace("\n", "\r").encode())), reads(3)
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_malformed_dna_input(case, tmp_path):
    build, expect = CASES[case]
    path = build(tmp_path)
    fmt = "embl" if case == "unknown_forced_format" else None
    if expect.error is not None:
        with pytest.raises(expect.error) as excinfo:
            validate_dna_records(read_sequence_records(path, fmt=fmt))
        message = str(excinfo.value)
        assert expect.text in message
        assert path.name in message  # every whole-file error names the file
        return
    raw = read_sequence_records(path, fmt=fmt)
    clean, quarantine, report = validate_dna_records(raw)
    if expect.kept is not None:
        assert len(quarantine) == 0 and report["records_in"] == len(clean) == expect.kept
        assert not any("\r" in text for text in [*clean["description"], *clean["sequence"]])
        return
    assert len(quarantine) == 1, quarantine
    row = quarantine.iloc[0]
    assert row["field"] == expect.field
    assert expect.text in row["reason"]
    assert row["source_file"] == str(path) and row["domain"] == "dna"
    assert len(clean) == len(raw) - 1 >= 1  # the good record next to it survives
    assert report["records_quarantined"] == 1


def test_labels_table_missing_column_names_the_column_and_the_columns_present(tmp_path):
    clean, _, _ = validate_dna_records(read_sequence_records(write("l.fa", GOOD_RECORD)(tmp_path)))
    table = pd.DataFrame({"accession": ["good"], "genus": ["x"]})
    with pytest.raises(
        ValueError, match=r"no id column 'id'; columns present: \['accession', 'genus'\]"
    ):
        match_labels(clean, table)


def test_labels_matching_two_rows_is_ambiguous(tmp_path):
    clean, _, _ = validate_dna_records(
        read_sequence_records(write("n.fa", ">gi|42|emb|AB1.1| x\nACGT\n")(tmp_path))
    )
    table = pd.DataFrame({"id": ["AB1.1", "42"], "label": ["p", "q"]})
    with pytest.raises(
        ValueError, match=r"'gi\|42\|emb\|AB1\.1\|' matches several rows.*'42'.*'AB1\.1'"
    ):
        match_labels(clean, table)


def test_line_ends_do_not_change_a_single_base_or_header(tmp_path):
    frames = [
        read_sequence_records(write(f"r{i}.fasta", THREE_RECORDS.replace("\n", end))(tmp_path))
        for i, end in enumerate(("\n", "\r", "\r\n"))
    ]
    for frame in frames[1:]:
        assert frame[["record_id", "description", "sequence"]].equals(
            frames[0][["record_id", "description", "sequence"]]
        )
    assert frames[0]["sequence"].tolist() == ["ACGTACGTAC", "TTTTGG", "CCCANNAC"]


def test_folder_reads_every_extension_spelling_and_names_the_files_it_did_not_read(tmp_path):
    write("a.FASTA", THREE_RECORDS)(tmp_path)
    write("b.Fa.GZ", gzip.compress(GOOD_RECORD.encode()))(tmp_path)
    (tmp_path / "sub").mkdir()
    write("sub/c.GBK", GOOD_GENBANK)(tmp_path)
    write("notes.seq", GOOD_RECORD)(tmp_path)  # not a sequence extension: reported, not read
    raw = read_sequence_records(tmp_path)
    assert sorted({Path(p).name for p in raw["source_file"]}) == ["a.FASTA", "b.Fa.GZ", "c.GBK"]
    clean, quarantine, report = validate_dna_records(raw)
    assert report["records_in"] == len(clean) == 5 and len(quarantine) == 0
    assert [Path(p).name for p in report["files_ignored"]] == ["notes.seq"]


def test_real_orchids_with_old_mac_line_ends_are_thirty_records(shared_data, tmp_path):
    original = shared_data / "ls_orchid" / "ls_orchid.fasta"
    mac = write("ORCHIDS.FASTA", original.read_bytes().replace(b"\n", b"\r"))(tmp_path)
    got, expected = read_sequence_records(mac), read_sequence_records(original)
    assert len(got) == 30
    assert got["sequence"].tolist() == expected["sequence"].tolist()
    assert got["record_id"].tolist() == expected["record_id"].tolist()
