"""kedro-mlflow's hook with input paths redacted (``tracking/redaction.py``).

kedro-mlflow logs every ``params:`` input of every node as a run parameter and every run
parameter of the session (``runtime_params``: the ``--params`` given on the command line) as a
tag. A raw input is chosen with ``--params "<task>.path=..."`` / ``predict.path=...``, and a
patient file's name is its RecordID: issue 15 found it in the MLflow store after a ``predict``.
This subclass hands kedro-mlflow redacted COPIES (the nodes still get the real values) and is
registered in ``settings.HOOKS`` in place of the plugin's own instance
(``DISABLE_HOOKS_FOR_PLUGINS``), last, so it keeps the plugin's place in pluggy's call order
(later-registered hooks are called first).
"""

from __future__ import annotations

from kedro.framework.hooks import hook_impl
from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook

from seqhealth.tracking.redaction import redact


class RedactingMlflowHook(MlflowHook):
    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        # Kedro 1.x names the --params ``runtime_params`` (``extra_params`` before): both redacted.
        safe = {**run_params, **{key: redact(run_params[key]) for key in ("runtime_params", "extra_params")
                                 if key in run_params}}  # fmt: skip
        super().before_pipeline_run(safe, pipeline, catalog)

    @hook_impl
    def before_node_run(self, node, catalog, inputs, is_async) -> None:
        safe = {key: redact(value) if key.startswith("params:") or key == "parameters" else value
                for key, value in inputs.items()}  # fmt: skip
        super().before_node_run(node, catalog, safe, is_async)


mlflow_hook = RedactingMlflowHook()
