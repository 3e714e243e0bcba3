"""Issue 21 point 4: the streamed DNA ingest reads each file record by record. Its records,
quarantine rows and report equal the whole-folder path's for multi-record FASTA / GenBank / gzip
files with bad records, the block-wise reader gives what one whole-file block gives (rows and
error messages), and the peak memory of a 40-record file is a few records, not the file."""

from __future__ import annotations

import gzip
import random
import tracemalloc

import pandas as pd
import pytest

from seqhealth.genomics import file_text
from seqhealth.genomics.readers import iter_sequence_file, read_sequence_records
from seqhealth.genomics.streaming import SequenceSource, validate_dna_stream
from seqhealth.genomics.validation import validate_dna_records
from seqhealth.quality import DataFormatError

from .conftest import genbank_text


def _fasta(records: list[tuple[str, str]], width: int = 60) -> str:
    lines = []
    for title, sequence in records:
        lines.append(f">{title}")
        lines.extend(sequence[i : i + width] for i in range(0, len(sequence), width))
    return "\n".join(lines) + "\n"


def _bases(rng: random.Random, n: int, alphabet: str = "ACGT") -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _multi_record_folder(tmp_path):
    rng = random.Random(7)
    fasta = [
        (f"r{i} sample {i}", _bases(rng, rng.randint(1, 90_000), "ACGTNacgtRY")) for i in range(12)
    ]
    fasta += [
        ("bad_char a U in it", "ACGU" * 50),  # invalid character (RNA)
        ("empty_seq", ""),  # empty sequence
        ("", "ACGT"),  # empty record id
        ("r3 duplicate of r3", "GGGG"),  # duplicate id, first kept
        ("tab\ttitle é", "AC GT\tAC"),  # odd whitespace / non-ASCII: Biopython's own path
        ("gt>in>title", "AC>GT"),  # '>' inside a title and a sequence line
    ]
    (tmp_path / "many.fa").write_text(_fasta(fasta))
    (tmp_path / "crlf.fasta").write_bytes(_fasta(fasta[:5]).replace("\n", "\r\n").encode())
    zipped = [(f"z{i}", _bases(rng, 70_000)) for i in range(4)] + [("r0 again", "ACGT")]
    (tmp_path / "packed.fa.gz").write_bytes(gzip.compress(_fasta(zipped).encode()))
    genbank = genbank_text(
        _bases(rng, 3_000), [[(0, 300, 1)], [(10, 70, -1), (100, 160, -1)]], name="GB1"
    )
    genbank += genbank_text(_bases(rng, 900), [[(0, 5_000, 1)]], name="GB2")  # CDS past the end
    genbank += genbank_text(_bases(rng, 120_000), [[(3, 303, 1)]], name="GB3")
    genbank += genbank_text(_bases(rng, 50), [], name="GB1")  # duplicate id
    (tmp_path / "many.gbk").write_text(genbank)
    (tmp_path / "many.gbk.gz").write_bytes(gzip.compress(genbank.replace("GB", "GZ").encode()))
    return tmp_path


def test_streamed_multi_record_files_equal_the_whole_folder_path(tmp_path):
    folder = _multi_record_folder(tmp_path)
    eager = validate_dna_records(read_sequence_records(folder))
    streamed = validate_dna_stream(SequenceSource(folder))
    pd.testing.assert_frame_equal(
        streamed[0], eager[0].drop(columns=["sequence"]), check_dtype=False
    )
    pd.testing.assert_frame_equal(streamed[1], eager[1])
    assert streamed[2] == eager[2]
    # The folder does exercise the screening: one row per bad record, each reason seen.
    reasons = " | ".join(streamed[1]["reason"])
    for reason in ("invalid character 'U'", "empty sequence", "empty record id", "duplicate record id",
                   "outside the record"):  # fmt: skip
        assert reason in reasons
    assert len(streamed[0]) == 20


@pytest.mark.parametrize("read_size", [7, 4096])
def test_block_wise_reading_gives_what_one_whole_file_block_gives(tmp_path, monkeypatch, read_size):
    """Tiny reads cut every record, line end (\\r\\n too), '>' and UTF-8 character somewhere."""
    folder = _multi_record_folder(tmp_path)
    noise = _fasta([("a", _bases(random.Random(1), 20_000))]).encode()
    (folder / "cut.fa.gz").write_bytes(gzip.compress(noise)[:3000])
    (folder / "latin.fa").write_bytes(b">a\r\nACGT\r\n>b \xc3\xa9\r\nAC\xffGT\r\n")
    (folder / "late.fa").write_bytes(b"\n \n" * 3000 + b">a\nAC\n")
    # A bad read (record 2) and, after it, a bad byte: the whole-file reader named the byte.
    (folder / "reads.fq").write_bytes(b"@q1\nACGT\n+\nIIII\n@q2\nAC\n+\nI\n@q3\n\xe9\n+\nI\n")

    def rows_or_error(path):
        try:
            return list(iter_sequence_file(path))
        except DataFormatError as error:
            return str(error)

    paths = sorted(p for p in folder.iterdir())
    monkeypatch.setattr(file_text, "READ_SIZE", 1 << 30)  # the whole file in one block
    whole = [rows_or_error(path) for path in paths]
    monkeypatch.setattr(file_text, "READ_SIZE", read_size)
    assert [rows_or_error(path) for path in paths] == whole
    errors = {path.name: result for path, result in zip(paths, whole) if isinstance(result, str)}
    assert sorted(errors) == ["cut.fa.gz", "latin.fa", "reads.fq"]
    assert "truncated gzip" in errors["cut.fa.gz"]
    assert errors["latin.fa"].endswith("non-UTF-8 content at byte 16, not a sequence text file")
    assert errors["reads.fq"].endswith("non-UTF-8 content at byte 31, not a sequence text file")


@pytest.mark.parametrize("name", ["many.fa", "many.fa.gz"])
def test_a_multi_record_file_is_not_held_whole(tmp_path, name):
    """Peak Python memory while streaming 16 records of 100 kb, less the tokens kept (1 byte a
    base, expected), stays a few records: the encoding step alone holds 4 copies of a record (its
    string, ASCII bytes, translated bytes and token buffer). Reading the file whole peaked at ~5
    times the file (~200 records' worth of 40 records, measured on the code before this test)."""
    record = 100_000
    rng = random.Random(3)
    text = _fasta([(f"c{i}", _bases(rng, record)) for i in range(16)], width=80).encode()
    (tmp_path / name).write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    del text
    tracemalloc.start()
    try:
        clean, quarantine, _report = validate_dna_stream(SequenceSource(tmp_path))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(clean) == 16 and quarantine.empty
    kept = sum(tokens.nbytes for tokens in clean["tokens"])
    assert kept == 16 * record
    assert peak - kept < 6 * record, f"peak {peak - kept} bytes above the kept tokens"
