"""``kedro run --pipeline predict`` for dna_coding writes GFF3 gene calls next to the per-base
probabilities; records on which no gene can be called are quarantined with the reason, and a run
where no record can be scored fails with a message instead of writing an empty GFF3."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from seqhealth.genomics.readers import read_sequence_records
from tests.conftest import make_project_copy, run_kedro
from tests.genomics.test_gene_gff import _check_gff

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def coding_project(tmp_path_factory):
    project = make_project_copy(tmp_path_factory.mktemp("gene_predict") / "seqhealth")
    run_kedro(project, "--pipeline", "dna_coding", "--params",
              "dna_coding.train.max_epochs=1,dna_coding.model.hidden_size=8,dna_coding.model.num_layers=1,"
              "train.enable_progress_bar=false")  # fmt: skip
    return project


def _write_fasta(path, records: dict[str, str]) -> None:
    path.write_text("".join(f">{rid}\n{seq}\n" for rid, seq in records.items()))


def test_predict_writes_gff3_and_quarantines_records_without_a_gene(coding_project, tmp_path):
    demo = read_sequence_records(coding_project / "data" / "01_raw" / "dna_coding")
    genome = str(demo["sequence"].iloc[0]).upper()[:12_000]
    fasta = tmp_path / "new.fasta"
    bad = {"all_n": "N" * 400, "tiny": "AC", "no_orf": "ATGTAA" * 40}
    _write_fasta(fasta, {"genome1": genome, **bad})
    run_kedro(
        coding_project,
        "--pipeline",
        "predict",
        "--params",
        f"predict.task=dna_coding,predict.path={fasta}",
    )
    out = coding_project / "data" / "07_model_output" / "dna_coding"
    per_base = pd.read_parquet(out / "predictions.parquet")
    assert set(per_base["id"]) == {"genome1"} and len(per_base) == len(genome)
    assert {"coding_probability", "in_gene_call"} <= set(per_base.columns)
    n_calls = _check_gff((out / "genes.gff3").read_text(), {"genome1": genome})
    calls = pd.read_csv(out / "genes.csv")
    assert n_calls == len(calls) > 0
    # The per-base track is the union of the calls.
    covered = per_base["in_gene_call"].to_numpy().astype(bool)
    for start, end in zip(calls["start"], calls["end"]):
        assert covered[start - 1 : end].all()
    quarantine = pd.read_csv(
        coding_project / "data" / "08_reporting" / "predict" / "dna_coding" / "quarantine.csv"
    )
    reasons = dict(zip(quarantine["record_id"], quarantine["reason"]))
    assert "only N" in reasons["all_n"] and "shorter than one codon" in reasons["tiny"]
    assert "no open reading frame" in reasons["no_orf"]
    assert json.loads((out / "genes_report.json").read_text())["n_calls"] == n_calls


def test_predict_with_nothing_to_call_fails_without_writing_a_gff3(coding_project, tmp_path):
    out = coding_project / "data" / "07_model_output" / "dna_coding"
    for name in ("genes.gff3", "genes.csv", "outputs.json"):
        (out / name).unlink(missing_ok=True)
    fasta = tmp_path / "bad.fasta"
    _write_fasta(fasta, {"all_n": "N" * 400, "no_orf": "ATGTAA" * 40})
    result = run_kedro(coding_project, "--pipeline", "predict", "--params",
                       f"predict.task=dna_coding,predict.path={fasta}", check=False)  # fmt: skip
    assert result.returncode != 0
    assert "nothing to score" in result.stderr + result.stdout
    assert not (out / "genes.gff3").exists()
