"""What a task is: ONE object that holds everything task-specific (PyHealth's ``BaseTask`` idea).

A task module (``seqhealth/tasks/<name>.py``) defines a subclass of ``Task`` and an instance
``TASK``; ``seqhealth.tasks.registry`` finds it. The rest of the project (the generic task
pipeline, tune, retrain, predict, serving, demo data, the Airflow task list, the tests)
iterates over the registry and calls these methods; nothing outside a task's module branches on
its name. The per-task parameters live in ``conf/base/parameters_<name>.yml`` under ``<name>:``
(including ``retrain_gate`` and ``tune_space``).

The contract, in the order data flows:

* reading raw files: ``read_raw(path, options)`` for training and retraining (labels needed),
  ``read_predict_input(path)`` for scoring (labels optional);
* ``ingest(raw, params) -> {name: value}``: validation; the result holds ``quarantine``,
  ``ingest_report``, the builder's inputs (``builder_inputs``) and any ``extra_outputs``;
* ``build_model_input(*builder_inputs, section, split=split_groups)``: samples split by
  ``group_unit`` through ``split`` (retraining passes a split that keeps its frozen test groups);
* ``calibrate(bundle, model_input)``: post-training fits on validation, kept in the bundle;
* ``evaluate(bundle, model_input, history) -> (metrics, predictions, figures)``;
* serving: ``request_columns`` / ``response_columns(bundle)`` / ``example_request(bundle)`` and
  ``predict_request(model, bundle, frame, limits)``; batch scoring: ``prepare_request``;
* ``write_demo(folder, seed)``: the task's demo data in ``data/01_raw/<name>``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from seqhealth.engine.explain import ExplanationError
from seqhealth.splits import split_groups


class Task(ABC):
    name: ClassVar[str]
    domain: ClassVar[str]  # "dna" | "vitals": a Kedro-Viz tag and the `dna` / `vitals` pipelines
    summary: ClassVar[str]  # one line: what the task predicts from what
    raw_inputs: ClassVar[tuple[str, ...]]  # catalog datasets ``<name>.<raw>`` the ingestion reads
    builder_inputs: ClassVar[tuple[str, ...]]  # ingest outputs the model-input builder takes
    extra_outputs: ClassVar[tuple[str, ...]] = ()  # further ingest outputs (reports)
    params_key: ClassVar[str] = "samples"  # the ``<name>.<params_key>`` section of the builder
    group_unit: ClassVar[str]  # what the split keeps apart: patient | locus | sequence
    request_key: ClassVar[str]  # the id column of a serving request / its predictions
    # Node names shown in Kedro-Viz (what the step does, in the task's own words).
    ingest_node: ClassVar[str] = "validate_raw_input"
    build_node: ClassVar[str] = "build_model_input"
    # Headline test metrics, shown in summaries next to the baseline's.
    headline_metrics: ClassVar[tuple[str, ...]]
    # The training gate's minimums (``engine/gate.py``): on top of the generic ones (at least one
    # sample and both outcomes / two classes in every split); ``<task>.train.gate`` overrides.
    gate_minimums: ClassVar[dict] = {}
    # Why a unit of a serving request got no prediction (``serving.predictors.listed_unscored``).
    unscored_reason: ClassVar[str] = "the model could use no part of it"

    # ------------------------------------------------------------------ raw input -> model input
    @property
    def ingest_outputs(self) -> tuple[str, ...]:
        return (*self.builder_inputs, *self.extra_outputs, "quarantine", "ingest_report")

    @abstractmethod
    def read_raw(self, path: Path, options: dict | None = None) -> dict[str, Any]:
        """The raw inputs (keyed by ``raw_inputs``) of a file or folder, labels included."""

    @abstractmethod
    def ingest(self, raw: dict[str, Any], params: dict) -> dict[str, Any]:
        """Validate; bad records go to ``quarantine`` with a reason (in = kept + quarantined)."""

    @abstractmethod
    def build_model_input(self, *args, split: Callable = split_groups) -> dict:
        """``build_model_input(*builder_inputs, section, split=...)`` -> the model input dict."""

    def training_gate(self, overrides: dict | None = None) -> dict:
        """The gate minimums for this task: generic, then the task's, then ``<task>.train.gate``."""
        from seqhealth.engine.gate import GENERIC_MINIMUMS, merge_minimums

        return merge_minimums(GENERIC_MINIMUMS, self.gate_minimums, overrides)

    def group_key(self, builder_inputs: tuple, section: dict) -> Callable:
        """Turns a group handed to ``split`` into a name that stays the same when data is added."""
        return str

    def eval_samples_for(self, model_input: dict, builder_inputs: tuple, preprocessing: dict) -> dict | None:
        """Val/test samples encoded with ANOTHER model's preprocessing (a champion fitted on older
        data), or None when samples do not depend on fitted statistics."""
        return None

    def calibrate(self, bundle: dict, model_input: dict) -> dict:
        """The trained bundle with anything fitted on VALIDATION after training (e.g. a
        probability calibrator, prediction-interval widths) added, so it travels with the model
        into evaluation, the registry, batch prediction and serving. Default: unchanged."""
        return bundle

    @abstractmethod
    def evaluate(self, bundle: dict, model_input: dict, history: list[dict]):
        """``(metrics document, test predictions frame, {name: figure})`` on the test split."""

    # --------------------------------------------------------------------------- prediction
    @abstractmethod
    def read_predict_input(self, path: Path) -> dict:
        """``{"format": str, "raw": ...}`` of new files to score (labels optional)."""

    @abstractmethod
    def prepare_request(self, raw_input: dict) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
        """Validate like ingestion; ``(request table, quarantine, report)``."""

    # ------------------------------------------------------------------------------ serving
    request_columns: ClassVar[list[tuple[str, str, bool]]]  # (type, name, required) of a request

    @abstractmethod
    def response_columns(self, bundle: dict) -> list[tuple[str, str]]:
        """(type, name) of the prediction table."""

    @abstractmethod
    def example_request(self, bundle: dict, seed: int = 0) -> pd.DataFrame:
        """A small SYNTHETIC request (never real records) in the model's raw format."""

    def request_ids(self, frame: pd.DataFrame) -> pd.Series:
        """The ``request_key`` of each request row spelled as the predictions spell it."""
        return frame[self.request_key].astype(str).str.strip()

    @abstractmethod
    def predict_request(self, model, bundle: dict, frame: pd.DataFrame, limits: dict) -> pd.DataFrame:
        """Validated raw request -> predictions; bad input raises ``RawInputError``."""

    def predict_outputs(self, score: Callable, request: pd.DataFrame, predictions: pd.DataFrame) -> dict[str, Any]:
        """Further files batch prediction writes next to ``predictions`` (``{file name: text |
        table}``, e.g. GFF3 gene calls); ``score(frame)`` runs the same model on a request.
        Default: none."""
        return {}

    # ------------------------------------------------------------------------- explanations
    def explain(self, model, bundle: dict, request: pd.DataFrame, options: dict) -> tuple[dict, dict]:
        """Why the model predicts what it does for each record / patient of a validated raw
        ``request`` (``options``: ``ids`` to choose, ``limits`` as in serving, ``max_plots``...).
        Returns ``({table name: DataFrame}, {figure file name: Figure})``; the first table is the
        per-unit one. Default: the task offers none."""
        raise ExplanationError(f"task {self.name} offers no explanations")

    # ---------------------------------------------------------------------------- demo data
    @abstractmethod
    def write_demo(self, folder: Path, seed: int = 0) -> None:
        """Write this task's demo input into ``folder`` (``data/01_raw/<name>``)."""

    def __repr__(self) -> str:
        return f"<task {self.name}>"
