"""Cross-validated dna_classify figures on the shared development samples (opt-in).

``pytest -m dev_data tests/test_dna_classify_cv.py``: repeated grouped 5-fold CV
(``seqhealth.tasks.dna_classify_cv``) of the biologist's baselines and of the model with the
task's default parameters (``conf/base/parameters_dna_classify.yml``: the wide-and-deep BiGRU).
Floors sit just under the figures measured on a 2-core machine (README, "Measured on public
data"); they guard against regressions; the issue's splice target (0.96) is not reached.
Needs /work/shared/data; about 20 minutes of CPU in all (splice alone ~4 min per fold seed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from seqhealth.genomics.benchmark_sets import BENCHMARKS
from seqhealth.tasks.dna_classify_cv import repeated_cross_validate_classify

pytestmark = [pytest.mark.slow, pytest.mark.shared_data, pytest.mark.dev_data]

PARAMS = Path(__file__).resolve().parents[1] / "conf" / "base" / "parameters_dna_classify.yml"


def _defaults() -> tuple[dict, dict]:
    params = yaml.safe_load(PARAMS.read_text())["dna_classify"]
    train = {"accelerator": "cpu", "devices": 1, "gradient_clip_val": 1.0, **params["train"]}
    return dict(params["model"]), train


# (dataset, baseline, floor of its CV mean accuracy): measured 0.931, 0.945, 0.955, 0.989 and 0.844.
BASELINE_FLOORS = [("splice", "onehot_logreg", 0.90), ("splice", "onehot_pairs_logreg", 0.93),
                   ("splice", "onehot_pairs_svm", 0.94), ("orchid", "kmer_logreg", 0.95),
                   ("promoters", "kmer_logreg", 0.78)]


@pytest.mark.parametrize(("dataset", "baseline", "floor"), BASELINE_FLOORS)
def test_biologist_baselines_cross_validated(shared_data, dataset, baseline, floor):
    samples, names, groups = BENCHMARKS[dataset](shared_data)
    result = repeated_cross_validate_classify(samples, len(names), None, {}, groups=groups, seeds=(0, 1, 2))
    assert result["summary"][baseline]["n_folds"] == 15
    assert result["summary"][baseline]["accuracy"] >= floor, result["summary"]


def _model_cv(shared_data, dataset: str, seeds: tuple[int, ...]) -> dict:
    torch.set_num_threads(1)
    model, train = _defaults()
    samples, names, groups = BENCHMARKS[dataset](shared_data)
    return repeated_cross_validate_classify(samples, len(names), model, train, groups=groups, seeds=seeds,
                                            baselines=False)["summary"]["model"]


def test_default_model_on_splice_junctions(shared_data):
    """Measured 0.942 +- 0.010 (fold seed 0; 0.935 +- 0.018 over seeds 0-2): positional one-hot LR
    0.931 +- 0.028 (seeds 0-2), above it by less than the spread."""
    summary = _model_cv(shared_data, "splice", (0,))
    assert summary["accuracy"] >= 0.93, summary


def test_default_model_on_orchids(shared_data):
    """Measured 1.000 +- 0 over 15 folds (seeds 0-2): k-mer LR 0.989 +- 0.043."""
    summary = _model_cv(shared_data, "orchid", (0, 1, 2))
    assert summary["accuracy"] >= 0.95, summary


def test_default_model_on_promoters(shared_data):
    """Measured 0.906 +- 0.115 over 15 folds (seeds 0-2): k-mer LR 0.844 +- 0.147, above it by
    less than the spread over folds."""
    summary = _model_cv(shared_data, "promoters", (0, 1, 2))
    assert summary["accuracy"] >= 0.87, summary
