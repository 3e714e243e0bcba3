"""Bad input to the gene finder, without training a model (fast): every record on which no gene
can be called is quarantined with its reason, and a request where nothing gets a call raises
instead of handing back an empty GFF3 as if it were a result (issue 18)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqhealth.genomics.readers import read_sequence_records
from seqhealth.tasks.dna_coding import TASK

from .conftest import genbank_text

GENE = "ATG" + "GCT" * 40 + "TAA"


def test_request_quarantines_each_record_without_a_possible_gene_with_its_reason(tmp_path):
    path = tmp_path / "mixed.gbk"
    off_end = genbank_text("ACGT" * 10, [[(0, 9, 1)]], name="OFFEND").replace("CDS             1..9", "CDS             1..60")
    path.write_text(
        genbank_text("CC" + GENE + "CC", [[(2, 2 + len(GENE), 1)]], name="GOOD")
        + genbank_text("N" * 300, name="ALLN")
        + genbank_text("AC", name="TINY")
        + genbank_text("ATGTAA" * 40, name="NOORF")
        + off_end
    )
    request, quarantine, report = TASK.prepare_request({"raw": read_sequence_records(path)})
    assert list(request["id"]) == ["GOOD.1"]
    reasons = dict(zip(quarantine["record_id"], quarantine["reason"]))
    assert "only N" in reasons["ALLN.1"]
    assert "shorter than one codon" in reasons["TINY.1"]
    assert "no open reading frame of >= 90 nt" in reasons["NOORF.1"]
    assert "outside the record" in reasons["OFFEND.1"]  # a GenBank CDS running off the end
    assert report["n_records_without_gene"] == 3


def test_no_call_on_any_record_raises_and_writes_no_gff3():
    request = pd.DataFrame({"id": ["r1"], "sequence": ["CC" + GENE + "CC"]})

    def score_without_calls(frame: pd.DataFrame) -> pd.DataFrame:
        # What serving answers for a record without a call: one row with null fields and a reason.
        return pd.DataFrame({"id": ["r1"], "gene_id": [None], "start": [np.nan], "end": [np.nan], "reason": ["none"]})

    with pytest.raises(ValueError, match="no gene call on any of the 1 records .*no GFF3 written"):
        TASK.predict_outputs(score_without_calls, request, pd.DataFrame())
