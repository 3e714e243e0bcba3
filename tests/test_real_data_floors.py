"""Real-data floor of the coding task: E. coli K-12 slice, held-out loci, default parameters.

Runs only where ../shared/data exists (about 1.5 minutes on 2 CPU cores).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import make_project_copy, run_kedro

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def test_ecoli_per_base_coding_on_held_out_loci(tmp_path, shared_data):
    project = make_project_copy(tmp_path / "seqhealth", demo_data=False)
    genome = shared_data / "genome_cds" / "NC_000913.3_0_300000.gbk"
    run_kedro(project, "--pipeline", "dna_coding", "--params", f"dna_coding.path={genome},train.enable_progress_bar=false")
    metrics = json.loads((project / "data" / "08_reporting" / "dna_coding" / "metrics.json").read_text())
    assert metrics["n_test_bases"] >= 30_000  # several 10 kb blocks held out, never trained on
    assert metrics["test"]["mcc"] >= 0.5, metrics["test"]
    assert metrics["test"]["auroc"] >= 0.85, metrics["test"]
