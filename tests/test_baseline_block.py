"""metrics.json's baseline block says what it is and which split each prevalence comes from."""

from __future__ import annotations

import numpy as np

from seqhealth.engine.evaluation import prevalence_baseline
from seqhealth.tracking.run_summary import baseline_label, metrics_table


def test_prevalence_baseline_is_labelled_with_both_prevalences():
    rng = np.random.default_rng(0)
    y_train = (rng.random(400) < 0.2).astype(int)
    y_test = (rng.random(300) < 0.35).astype(int)
    baseline = prevalence_baseline(y_train, y_test)
    assert baseline["name"] == "constant training prevalence"
    assert "training split" in baseline["description"]
    assert baseline["train_prevalence"] == baseline["prevalence"] == y_train.mean()
    assert baseline["test_prevalence"] == y_test.mean()
    # a constant score has no ranking skill: AUROC 0.5, AUPRC = the TEST prevalence
    assert baseline["auroc"] == 0.5
    assert abs(baseline["auprc"] - y_test.mean()) < 1e-12
    # the summary table names the baseline next to the numbers
    document = {"test": {"auroc": 0.81, "auprc": 0.6}, "baseline": baseline}
    assert baseline_label(document) == "constant training prevalence"
    rows = metrics_table({"vitals_mortality": document})
    assert rows[1].split()[:4] == ["vitals_mortality", "auroc", "0.810", "0.500"]


def test_summary_names_the_strongest_reference_next_to_the_model():
    document = {
        "test": {"auroc": 0.81, "brier": 0.09},
        "baseline": {"name": "constant training prevalence", "auroc": 0.5, "brier": 0.12},
        "baselines": {"summary_logreg": {"auroc": 0.78, "brier": 0.095},
                      "summary_gbm": {"auroc": 0.85, "brier": 0.088},
                      "broken": {"auroc": float("nan")}},
    }
    rows = metrics_table({"vitals_mortality": document})
    assert rows[0].split()[-2:] == ["reference", "is"]
    assert rows[1].split()[-2:] == ["0.850", "summary_gbm"]  # best on the first headline metric
    assert rows[2].split()[-1] == "0.088"  # the same reference's other figures
    without = metrics_table({"vitals_mortality": {k: v for k, v in document.items() if k != "baselines"}})
    assert without[1].split()[-2:] == ["-", "none"]
