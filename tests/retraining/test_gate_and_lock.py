"""The promotion gate's rule and the retrain lock, without training (fast)."""

from __future__ import annotations

import math

import pytest

from seqhealth.retraining.gate import GateConfig, decide
from seqhealth.retraining.lock import (
    EX_TEMPFAIL,
    FileRetrainLock,
    PostgresRetrainLock,
    RetrainLockBusy,
    advisory_key,
    make_lock,
)
from seqhealth.tasks.registry import TASK_NAMES
from tests.retraining.helpers import project_parameters

CONFIG = GateConfig(primary="auroc", margin=0.01, tolerance=0.02, guards={"auprc": "max", "brier": "min"})
CHAMPION = {"auroc": 0.80, "auprc": 0.50, "brier": 0.10}


@pytest.mark.parametrize(
    ("challenger", "promote", "in_reason"),
    [
        ({"auroc": 0.85, "auprc": 0.50, "brier": 0.10}, True, "challenger promoted: auroc 0.8500 vs champion 0.8000"),
        ({"auroc": 0.805, "auprc": 0.55, "brier": 0.09}, False, "gain +0.0050 <= margin 0.01"),  # within the margin
        ({"auroc": 0.70, "auprc": 0.60, "brier": 0.05}, False, "primary auroc 0.7000 vs champion 0.8000"),
        ({"auroc": 0.90, "auprc": 0.47, "brier": 0.10}, False, "guard auprc regressed"),
        ({"auroc": 0.90, "auprc": 0.50, "brier": 0.125}, False, "guard brier regressed"),  # lower is better
        ({"auroc": 0.90, "auprc": 0.49, "brier": 0.11}, True, "no guard regressed more than 0.02"),
        ({"auroc": math.nan, "auprc": 0.6, "brier": 0.05}, False, "primary auroc not computable"),
    ],
)
def test_gate_rule(challenger, promote, in_reason):
    result = decide(CHAMPION, challenger, CONFIG)
    assert result.promote is promote
    assert in_reason in result.reason


def test_first_model_is_promoted_and_config_comes_from_parameters():
    assert decide(None, {"auroc": 0.5}, CONFIG).promote
    assert "first model" in decide(None, {"auroc": 0.5}, CONFIG).reason
    parameters = project_parameters()
    gate = parameters["retrain"]["gate"]
    # Every registered task says in its own parameters file which metric its gate compares.
    configs = {task: GateConfig.for_task(gate, parameters[task].get("retrain_gate"), task) for task in TASK_NAMES}
    assert {t: c.primary for t, c in configs.items() if t != "vitals_forecast"} == {
        "dna_coding": "mcc", "dna_classify": "macro_f1", "vitals_mortality": "auroc", "vitals_sepsis": "auprc",
    }  # fmt: skip
    assert configs["vitals_mortality"].guards["brier"] == "min"
    assert (configs["vitals_forecast"].primary, configs["vitals_forecast"].primary_mode) == ("mae_z", "min")
    assert configs["dna_coding"].margin == gate["margin"]
    with pytest.raises(ValueError, match="no retrain_gate.primary in parameters_x.yml"):
        GateConfig.for_task(gate, {}, "x")


def test_file_lock_excludes_a_second_holder_with_exit_code_75(tmp_path):
    first, second = FileRetrainLock("vitals_mortality", tmp_path), FileRetrainLock("vitals_mortality", tmp_path)
    first.acquire()
    with pytest.raises(RetrainLockBusy) as busy:
        second.acquire()
    assert isinstance(busy.value, SystemExit) and busy.value.code == EX_TEMPFAIL == 75
    assert "another retrain of vitals_mortality is running" in str(busy.value) and "'pid'" in str(busy.value)
    FileRetrainLock("dna_coding", tmp_path).acquire()  # other tasks are not blocked
    first.release()
    second.acquire()  # free again once released
    second.release()


def test_lock_kind_follows_the_tracking_store(tmp_path):
    assert isinstance(make_lock("dna_coding", tmp_path, tracking_uri=""), FileRetrainLock)
    assert isinstance(make_lock("dna_coding", tmp_path, tracking_uri="sqlite:///x.db"), FileRetrainLock)
    lock = make_lock("dna_coding", tmp_path, tracking_uri="postgresql://u:secret@db/mlflow")
    assert isinstance(lock, PostgresRetrainLock) and "secret" not in lock.describe()
    assert isinstance(make_lock("dna_coding", tmp_path, "postgresql://db/locks", "http://mlflow:5000"), PostgresRetrainLock)
    with pytest.raises(ValueError, match="retrain.lock_url"):
        make_lock("dna_coding", tmp_path, tracking_uri="https://mlflow.example.org")
    keys = {advisory_key(t) for t in ("dna_coding", "dna_classify", "vitals_mortality", "vitals_sepsis")}
    assert len(keys) == 4 and all(-(2**63) <= k < 2**63 for k in keys)
    assert advisory_key("dna_coding") == advisory_key("dna_coding")
