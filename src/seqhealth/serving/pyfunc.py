"""The MLflow pyfunc: RAW table in, predictions out (``tracking.predictors`` does the work).

The only artifact is the model bundle (a pickle of hyper-parameters, CPU weights and the
preprocessing fitted on train), so encoding and normalisation travel with the model and the
sequence length stays free (unlike ``mlflow.pytorch.log_model``'s torch.export, which freezes it).

Why not kedro-mlflow's ``pipeline_ml_factory``/``KedroPipelineModel``: it logs one model per
``kedro run`` at ``after_pipeline_run`` into the session's run and replays a Kedro inference
pipeline (a runner per request); we need one model per task (four per default run, each in its
task's own run), registered with aliases right after training, and preprocessing that is plain
code plus statistics already stored in the bundle.
"""

from __future__ import annotations

import pickle
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.types.schema import AnyType, ColSpec, ParamSchema, ParamSpec, Schema

from seqhealth.engine.explain import ExplanationError
from seqhealth.serving.predictors import RawPredictor
from seqhealth.serving.raw_inputs import DEFAULT_LIMITS, RawInputError
from seqhealth.tasks.base import Task
from seqhealth.tasks.registry import task_of_bundle

BUNDLE_ARTIFACT = "bundle"
REQUIREMENT_PACKAGES = ("torch", "lightning", "numpy", "pandas", "scikit-learn", "biopython", "mlflow", "captum")
# Request parameters: ``{"explain": true}`` answers with the task's explanation table instead of
# predictions (``explain_table`` picks another of its tables, e.g. ``effects``, ``attributions``).
PARAMS_SCHEMA = ParamSchema([ParamSpec("explain", "boolean", False), ParamSpec("explain_table", "string", "")])


class SeqhealthPyfunc(mlflow.pyfunc.PythonModel):
    """``predict(DataFrame) -> DataFrame``; bad input raises ``INVALID_PARAMETER_VALUE`` (HTTP 400)."""

    def __init__(self, limits: dict | None = None):
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self._predictor: RawPredictor | None = None

    def load_context(self, context) -> None:
        with open(context.artifacts[BUNDLE_ARTIFACT], "rb") as handle:
            bundle = pickle.load(handle)
        # Logged from code (``serving/pyfunc_model.py``): the limits travel in the model config.
        logged = (getattr(context, "model_config", None) or {}).get("limits")
        if logged:
            self.limits = {**DEFAULT_LIMITS, **logged}
        self._predictor = RawPredictor(bundle, self.limits)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        if self._predictor is None:
            self.load_context(context)
        params = params or {}
        try:
            if params.get("explain"):  # explanations on request: {"explain": true, "explain_table": ...}
                return self._predictor.explain(_as_frame(model_input), params.get("explain_table") or None)
            return self._predictor.predict(_as_frame(model_input))
        except (RawInputError, ExplanationError) as error:
            raise MlflowException(f"invalid input: {error}", error_code=INVALID_PARAMETER_VALUE) from None

    def __getstate__(self):
        # Only the limits are pickled into the model; the weights come from the artifact.
        return {"limits": self.limits, "_predictor": None}


def _as_frame(model_input) -> pd.DataFrame:
    if isinstance(model_input, pd.DataFrame):
        return model_input
    try:
        return pd.DataFrame(model_input)
    except (ValueError, TypeError) as error:
        raise RawInputError(f"input is not a table: {error}") from None


# --------------------------------------------------------------------- signature / example
def _col(kind: str, name: str, required: bool = True) -> ColSpec:
    return ColSpec(AnyType() if kind == "any" else kind, name, required=required)


def input_schema(task: Task) -> Schema:
    """The task's request columns; ``any`` where values may be text or numbers."""
    return Schema([_col(*column) for column in task.request_columns])


def output_schema(bundle: dict) -> Schema:
    return Schema([_col(kind, name) for kind, name in task_of_bundle(bundle).response_columns(bundle)])


def example_input(bundle: dict, seed: int = 0) -> pd.DataFrame:
    """A small SYNTHETIC request (never patient data) in the model's raw format."""
    return task_of_bundle(bundle).example_request(bundle, seed)


def pip_requirements() -> list[str]:
    """Pinned to what trained the model; given explicitly so MLflow does not spend seconds
    re-importing the model in a subprocess to guess them."""
    pins = []
    for package in REQUIREMENT_PACKAGES:
        try:
            pins.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            continue
    return pins


def log_pyfunc(bundle: dict, name: str = "model", limits: dict | None = None, **log_model_kwargs):
    """Log ``bundle`` as a raw-input pyfunc in the ACTIVE run; returns MLflow's ``ModelInfo``."""
    task = task_of_bundle(bundle)
    with tempfile.TemporaryDirectory() as tmp:
        bundle_path = Path(tmp) / "bundle.pkl"
        with open(bundle_path, "wb") as handle:
            pickle.dump(bundle, handle, protocol=pickle.HIGHEST_PROTOCOL)
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(Path(__file__).with_name("pyfunc_model.py")),
            model_config={"limits": {**DEFAULT_LIMITS, **(limits or {})}},
            artifacts={BUNDLE_ARTIFACT: str(bundle_path)},
            signature=ModelSignature(inputs=input_schema(task), outputs=output_schema(bundle), params=PARAMS_SCHEMA),
            input_example=example_input(bundle),
            pip_requirements=pip_requirements(),
            **log_model_kwargs,
        )
