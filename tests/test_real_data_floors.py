"""Real-data floors with default parameters (runtime paths only):
- coding task: E. coli K-12 slice, held-out loci;
- mortality task: the 400-stay PhysioNet 2012 sample, 5-fold cross-validated AUROC repeated over
  fold seeds 0-4 (25 held-out folds; a single 60-stay test split holds ~8 deaths and one 5-fold CV
  still moves by +-0.04 with its seed: see tasks.vitals_mortality), against the issue's 0.75.

Run only where ../shared/data exists (about 1.5 and 3 minutes on 2 dedicated CPU cores; far
longer on a shared machine).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from seqhealth.engine.fit import resolve_train_config
from seqhealth.tasks.vitals_mortality import repeated_cross_validate_mortality
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
    # Gene calls (issue 18) on the same held-out loci: per-base MCC of the track the calls cover,
    # calls whose stop codon is an annotated CDS's, and exact start + stop. Measured with the
    # default parameters on these loci (network + hexamers + start model, one training thread):
    # this pipeline run MCC of the calls 0.895, 3'-end sensitivity 0.975 / precision 0.951, exact
    # 0.825; training seeds 1 and 2: 0.916 / 0.975 / 0.951 / 0.850 and 0.872 / 0.950 / 0.974 /
    # 0.875 (pyrodigal 0.912 / 0.975 / 0.975 / 0.825). Floors = the lowest run minus noise (one
    # gene of 40 is 0.025). The same code and inputs on another CPU (an AMD EPYC VM, 2026-12-07;
    # identical model input, training follows the machine's float kernels) gave MCC of the calls
    # 0.827 / 0.950 / 0.950 / 0.850, hence the MCC floor of 0.80.
    genes = metrics["gene_calls"]
    assert genes["test"]["n_annotated"] >= 30
    assert metrics["test"]["mcc_calls"] >= 0.80, genes
    assert metrics["test"]["stop_sensitivity"] >= 0.925, genes
    assert metrics["test"]["stop_precision"] >= 0.90, genes
    assert metrics["test"]["exact_sensitivity"] >= 0.75, genes
    # The network earns its place: the same decoder without it (hexamer + start statistics) is worse.
    assert metrics["test"]["mcc_calls"] > genes["anchor"]["per_base_mcc"], genes


def test_physionet2012_mortality_cross_validated_auroc(tmp_path, shared_data):
    project = make_project_copy(tmp_path / "seqhealth", demo_data=False)
    stays = shared_data / "physionet2012_mortality"
    run_kedro(project, "--pipeline", "vitals_mortality", "--params",
              f"vitals_mortality.path={stays},train.enable_progress_bar=false")
    metrics = json.loads((project / "data" / "08_reporting" / "vitals_mortality" / "metrics.json").read_text())
    assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] == 400
    # The pipeline's own ingestion output, then the task's configured parameters, fold by fold.
    clean = pd.read_parquet(project / "data" / "02_intermediate" / "vitals_mortality" / "observations.parquet")
    labels = pd.read_parquet(project / "data" / "03_primary" / "vitals_mortality" / "labels.parquet")
    # The two parameter files this task reads (plain YAML: no project resolvers in them).
    base = project / "conf" / "base"
    task = yaml.safe_load((base / "parameters_vitals_mortality.yml").read_text())["vitals_mortality"]
    shared_train = yaml.safe_load((base / "parameters_train.yml").read_text())["train"]
    train_cfg = {**resolve_train_config(shared_train, task.get("train")),
                 "checkpoint_dir": str(tmp_path / "cv_checkpoints"), "enable_progress_bar": False}
    result = repeated_cross_validate_mortality(clean, labels, task["samples"], task["model"], train_cfg,
                                               folds=5, seeds=range(5))
    for run in result["runs"].values():
        assert len(run["out_of_fold"]) == 400 and run["out_of_fold"]["patient_id"].is_unique
    assert len(result["fold_auroc"]) == 25
    assert result["mean_auroc"] >= 0.75, result["per_seed"]
    # The data team's baselines scored on the same 25 folds (README quotes them side by side).
    assert set(result["baseline_mean_auroc"]) == {"summary_logreg", "summary_gbm"}
    assert all(0.6 < v < 1.0 for v in result["baseline_mean_auroc"].values()), result["baseline_mean_auroc"]
