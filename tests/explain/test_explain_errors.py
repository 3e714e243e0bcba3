"""Issue 20, must show: bad input to the explain pipeline stops with an error naming the problem:
unknown ids, a record too long for the request limit, a task without a champion. In-process on
a tiny model (the checks come before any model quality matters), so it runs in default CI; the
same messages through ``kedro run`` are checked in test_splice_ism.py on the real sample."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

from seqhealth.engine.explain import ExplanationError
from seqhealth.engine.fit import load_model
from seqhealth.pipelines.explain.nodes import explain_request
from seqhealth.tasks.registry import get_task
from tests.explain.test_explain_units import dna_bundle

REQUEST = pd.DataFrame({"id": ["r1", "r2"], "sequence": ["ACGT" * 15, "GATTACA" * 5]})


def explain(options: dict):
    bundle = dna_bundle()
    return get_task(bundle["task"]).explain(load_model(bundle), bundle, REQUEST, options)


def test_unknown_ids_are_named():
    with pytest.raises(ExplanationError, match=r"unknown record id\(s\) \['NOT-A-RECORD', 'ALSO-NOT'\] in explain.ids; the input holds 2: r1, r2"):
        explain({"ids": "r1;NOT-A-RECORD;ALSO-NOT"})
    tables, _ = explain({"ids": "r2", "max_plots": 0})  # a known id is explained, alone
    assert list(tables["records"]["id"]) == ["r2"]


def test_a_record_over_the_request_limit_is_named():
    with pytest.raises(ExplanationError, match=r"record 'r1' has 60 bases, more than the explanation limit of 50 per record"):
        explain({"limits": {"max_record_bases": 50}})
    with pytest.raises(ExplanationError, match="2 records to explain, more than the limit of 1"):
        explain({"limits": {"max_units": 1}})


def test_a_task_without_a_champion_is_named(tmp_path, monkeypatch):
    uri = (tmp_path / "mlruns").as_uri()  # an empty registry (a file store: no database to migrate)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)  # set_registry_uri writes it: restored after the test
    mlflow.set_registry_uri(uri)
    try:
        # Named before the input is looked at: no record of this request could be a gene anyway.
        with pytest.raises(ExplanationError, match=r"task dna_coding has no registered model under alias 'champion' "
                                                   r"\(models:/seqhealth-dna_coding@champion\)"):  # fmt: skip
            explain_request(pd.DataFrame(columns=["id", "sequence"]), {"task": "dna_coding"})
    finally:
        mlflow.set_registry_uri(None)
