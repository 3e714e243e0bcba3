import pytest
from kedro.io import DataCatalog, DatasetError

from seqhealth.datasets.sequence_files import SequenceFilesDataset
from seqhealth.genomics.readers import RAW_COLUMNS
from seqhealth.quality import DataFormatError


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch):
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")


def test_catalog_loads_a_directory_and_refuses_to_save(tmp_path):
    (tmp_path / "dna").mkdir()
    (tmp_path / "dna" / "a.fa").write_text(">a\nACGT\n>b\nGG\n")
    (tmp_path / "dna" / "c.fastq").write_text("@c\nAC\n+\nII\n")
    catalog = DataCatalog.from_config(
        {
            "dna_raw": {
                "type": "seqhealth.datasets.sequence_files.SequenceFilesDataset",
                "path": str(tmp_path / "dna"),
            },
            "orchids": {
                "type": "seqhealth.datasets.sequence_files.SequenceFilesDataset",
                "path": str(tmp_path / "dna" / "c.fastq"),
                "format": "fastq",
            },
        }
    )
    frame = catalog.load("dna_raw")
    assert list(frame.columns) == RAW_COLUMNS
    assert frame["record_id"].tolist() == ["a", "b", "c"]
    assert catalog.load("orchids")["format"].tolist() == ["fastq"]
    assert catalog.exists("dna_raw")
    with pytest.raises(DatasetError, match="read-only"):
        catalog.save("dna_raw", frame)


def test_bad_format_argument_and_unreadable_file():
    with pytest.raises(DatasetError, match="format must be"):
        SequenceFilesDataset("x", format="embl")
    dataset = SequenceFilesDataset("/nonexistent/dir/reads.fq")
    assert not dataset.exists()
    with pytest.raises((DataFormatError, DatasetError), match="reads.fq"):
        dataset.load()
    assert "reads.fq" in str(dataset)


def test_real_orchids_via_catalog(shared_data):
    catalog = DataCatalog.from_config(
        {
            "orchids": {
                "type": "seqhealth.datasets.sequence_files.SequenceFilesDataset",
                "path": str(shared_data / "ls_orchid" / "ls_orchid.gbk"),
            }
        }
    )
    assert len(catalog.load("orchids")) == 30
