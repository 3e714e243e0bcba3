import gzip
import io

import pandas as pd
import pytest
from Bio.SeqIO.FastaIO import SimpleFastaParser

from seqhealth.genomics.readers import RAW_COLUMNS, fasta_records, read_sequence_records
from seqhealth.quality import DataFormatError

from .conftest import genbank_text

FASTA = ">seq1 first record\nACGTACGT\nACGT\n>seq2\nggccNNaa\n"
FASTQ = "@read1 lane 1\nACGTA\n+\nIIIII\n@read2\nGGC\n+read2\n#!I\n"


def test_fasta_records_with_ids_descriptions_and_multiline_sequence(tmp_path):
    path = tmp_path / "a.fasta"
    path.write_text(FASTA)
    frame = read_sequence_records(path)
    assert list(frame.columns) == RAW_COLUMNS
    assert frame["record_id"].tolist() == ["seq1", "seq2"]
    assert frame["description"].tolist() == ["seq1 first record", "seq2"]
    assert frame["sequence"].tolist() == ["ACGTACGTACGT", "ggccNNaa"]  # raw: repairs come later
    assert frame["format"].unique().tolist() == ["fasta"]
    assert frame["cds_parts"].tolist() == [[], []]


def test_fastq_and_gzip_are_read_like_plain_text(tmp_path):
    plain = tmp_path / "r.fastq"
    plain.write_text(FASTQ)
    zipped = tmp_path / "r2.fq.gz"
    zipped.write_bytes(gzip.compress(FASTQ.encode()))
    a, b = read_sequence_records(plain), read_sequence_records(zipped)
    assert a["sequence"].tolist() == b["sequence"].tolist() == ["ACGTA", "GGC"]
    assert b["format"].tolist() == ["fastq", "fastq"]
    assert b["source_file"].iloc[0].endswith("r2.fq.gz")


def test_directory_is_searched_recursively_in_sorted_order_and_other_files_ignored(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.fa").write_text(">b\nAC\n")
    (tmp_path / "sub" / "a.fna.gz").write_bytes(gzip.compress(b">a\nGG\n"))
    (tmp_path / "sub" / "c.gbk").write_text(genbank_text("ACGTACGTAC", [[(0, 9, 1)]]))
    (tmp_path / "notes.txt").write_text("not a sequence")
    frame = read_sequence_records(tmp_path)
    assert frame["record_id"].tolist() == ["b", "a", "TEST1.1"]
    assert frame["format"].tolist() == ["fasta", "fasta", "genbank"]


def test_genbank_cds_parts_for_joins_on_both_strands(tmp_path):
    sequence = "ACGT" * 50
    cds = [[(0, 30, 1)], [(40, 60, 1), (80, 100, 1)], [(150, 170, -1), (120, 135, -1)]]
    path = tmp_path / "j.gb"
    path.write_text(genbank_text(sequence, cds))
    assert "complement(join(121..135,151..170))" in path.read_text()  # real GenBank syntax
    frame = read_sequence_records(path)
    parts = frame["cds_parts"].iloc[0]
    assert parts[0] == [(0, 30, 1)]
    assert parts[1] == [(40, 60, 1), (80, 100, 1)]
    assert sorted(parts[2]) == [(120, 135, -1), (150, 170, -1)]
    assert frame["sequence"].iloc[0] == sequence


def test_explicit_format_overrides_extension_but_not_content(tmp_path):
    path = tmp_path / "reads.txt.fa"
    path.write_text(FASTQ)
    with pytest.raises(DataFormatError, match="claims FASTA"):
        read_sequence_records(path)
    assert len(read_sequence_records(path, fmt="fastq")) == 2


def test_missing_path_and_directory_without_sequence_files(tmp_path):
    with pytest.raises(DataFormatError, match="no such file"):
        read_sequence_records(tmp_path / "absent.fa")
    with pytest.raises(DataFormatError, match="no sequence files"):
        read_sequence_records(tmp_path)


def test_real_shared_files(shared_data):
    genomes = read_sequence_records(shared_data / "genome_cds")
    assert len(genomes) == 5
    lengths = dict(zip(genomes["record_id"], genomes["sequence"].str.len()))
    assert lengths["NC_000932.1"] == 154_478 and lengths["AC007323.5"] == 86_436
    orchid = read_sequence_records(shared_data / "ls_orchid" / "ls_orchid.fasta")
    assert len(orchid) == 30
    assert orchid["record_id"].iloc[0] == "gi|2765648|emb|Z78523.1|CHZ78523"
    assert isinstance(orchid, pd.DataFrame)


@pytest.mark.parametrize(
    "text",
    [
        FASTA,
        "\n\n>a desc\r\nAC GT\r\nGG  \r\n>b\r\n\r\n>c\nTT",  # CRLF, spaces, empty record, no final \n
        ">a\tx\nAC\tGT\t\nGG\n>b\n>c\nA\fC\n",  # tabs / form feeds: Biopython's own rules apply
        ">only title",
        ">x\n>y\nA\n\n\nC\n",
        "> spaced title  \nacgt\n",
        ">a x>y z\nAC>GT\n>b\nGG\n",  # '>' inside a title and a sequence line is not a record
        ">é title\nACGé\xa0\nTT\n>b\nA\n",  # non-ASCII: Biopython's own path
        "\n\n\n>late start\nA C\n",
    ],
)
def test_fasta_records_are_exactly_simple_fasta_parser(text):
    assert fasta_records(text) == list(SimpleFastaParser(io.StringIO(text)))
