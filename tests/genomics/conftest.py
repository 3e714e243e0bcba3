"""Shared helpers for the genomics tests: the sibling ``shared/data`` folder and small file makers."""

from __future__ import annotations

from pathlib import Path

import pytest
from Bio import SeqIO
from Bio.Seq import Seq
from Bio.SeqFeature import CompoundLocation, SeqFeature, SimpleLocation
from Bio.SeqRecord import SeqRecord

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not present at {SHARED_DATA}")
    return SHARED_DATA


def genbank_text(sequence: str, cds_locations=(), name: str = "TEST1") -> str:
    """A well-formed GenBank record written by Biopython, with CDS given as [(start, end, strand)]."""
    features = []
    for parts in cds_locations:
        locations = [SimpleLocation(s, e, strand=st) for s, e, st in parts]
        location = locations[0] if len(locations) == 1 else CompoundLocation(locations)
        features.append(SeqFeature(location, type="CDS"))
    record = SeqRecord(
        Seq(sequence),
        id=f"{name}.1",
        name=name,
        description="test record",
        features=features,
        annotations={"molecule_type": "DNA"},
    )
    from io import StringIO

    handle = StringIO()
    SeqIO.write([record], handle, "genbank")
    return handle.getvalue()
