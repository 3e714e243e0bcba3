"""The default `kedro run` on demo data: every task trains, evaluates and beats a trivial baseline.

Runs once per session (the ``default_run`` fixture); each test reads what that run wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from seqhealth.tasks.registry import TASK_NAMES, TASKS

pytestmark = pytest.mark.slow


def _metrics(project: Path, task: str) -> dict:
    return json.loads((project / "data" / "08_reporting" / task / "metrics.json").read_text())


@pytest.mark.parametrize("task", TASK_NAMES)
def test_metrics_file_has_the_documented_layout(default_run, task):
    metrics = _metrics(default_run, task)
    assert metrics["task"] == task
    for key in ("n_train", "n_val", "n_test", "best_epoch", "test", "baseline"):
        assert key in metrics
    assert metrics["n_train"] > metrics["n_test"] > 0
    expected = set(TASKS[task].headline_metrics)
    assert expected <= set(metrics["test"]), f"{task}: missing {expected - set(metrics['test'])}"
    assert all(metrics["test"][name] is not None for name in expected), metrics["test"]


@pytest.mark.parametrize(
    ("task", "metric", "margin"),
    [
        # MCC of the majority (all-coding) guess is 0; AUROC of a constant is 0.5.
        ("dna_coding", "mcc", 0.3),
        ("dna_coding", "auroc", 0.2),
        ("dna_classify", "macro_f1", 0.3),
        ("vitals_mortality", "auroc", 0.15),
        ("vitals_sepsis", "auroc", 0.15),
    ],
)
def test_each_task_beats_its_trivial_baseline(default_run, task, metric, margin):
    metrics = _metrics(default_run, task)
    baseline = metrics["baseline"][metric]
    baseline = 0.5 if baseline is None and metric.endswith("auroc") else baseline
    assert metrics["test"][metric] >= baseline + margin, (task, metric, metrics["test"][metric], baseline)


def test_prauc_beats_prevalence_on_the_clinical_tasks(default_run):
    for task in ("vitals_mortality", "vitals_sepsis"):
        metrics = _metrics(default_run, task)
        assert metrics["test"]["auprc"] > 1.5 * metrics["baseline"]["prevalence"], task


@pytest.mark.parametrize("task", TASK_NAMES)
def test_plots_and_learning_curves_are_written(default_run, task):
    folder = default_run / "data" / "08_reporting" / task
    pngs = {p.name for p in folder.glob("*.png")}
    assert "learning_curves.png" in pngs
    assert len(pngs) >= 2, pngs  # the task's own result plots next to the learning curves
    history = json.loads((folder / "training_history.json").read_text())
    assert len(history) >= 2 and all("val_loss" in row for row in history)


@pytest.mark.parametrize("task", TASK_NAMES)
def test_ingestion_counts_reconcile(default_run, task):
    report = json.loads((default_run / "data" / "08_reporting" / task / "ingest_report.json").read_text())
    quarantine = pd.read_csv(default_run / "data" / "08_reporting" / task / "quarantine.csv")
    assert report["records_in"] == report["records_kept"] + report["records_quarantined"]
    assert report["records_quarantined"] <= len(quarantine)


def test_sepsis_model_is_unidirectional(default_run):
    bundle = pd.read_pickle(default_run / "data" / "06_models" / "vitals_sepsis" / "model.pkl")
    assert bundle["hparams"]["causal"] is True
    assert bundle["hparams"]["bidirectional"] is False


def test_split_is_by_patient(default_run):
    predictions = pd.read_parquet(default_run / "data" / "07_model_output" / "vitals_mortality" / "test_predictions.parquet")
    model_input = pd.read_pickle(default_run / "data" / "05_model_input" / "vitals_mortality" / "model_input.pkl")
    train, val, test = (set(model_input["patients"][s]) for s in ("train", "val", "test"))
    assert not (train & test) and not (train & val) and not (val & test)
    assert set(predictions["patient_id"]) == test


def test_mlflow_has_one_finished_run_per_task_with_plots_and_a_champion(default_run):
    from seqhealth.tracking.summary import runs_summary

    summary = runs_summary(f"sqlite:///{default_run / 'mlflow.db'}")
    assert sorted(summary["task"]) == sorted(TASK_NAMES), summary["task"].tolist()
    for row in summary.itertuples():
        assert row.status == "FINISHED", row.task
        assert row.n_epoch_steps >= 2 and row.n_metrics > 5, row.task  # per-epoch + test metrics
        assert row.n_plots >= 2 and "plots/learning_curves.png" in row.plots, row.task
        assert row.has_model and row.champion_version == 1, row.task
