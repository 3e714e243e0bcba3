"""No usage analytics leave this project's processes by default (issue 16).

Kedro's telemetry is refused by the committed ``.telemetry`` file. MLflow 3 has its own
(``config.mlflow-telemetry.io``) and reads its opt-out only from ``MLFLOW_DISABLE_TELEMETRY`` /
``DO_NOT_TRACK``; ``import mlflow`` builds its client, but the client contacts nobody before its
first recorded event. So, on importing ``seqhealth`` (Kedro's settings import it before any
run), the opt-out is set unless the user chose otherwise, and an already built client is rebuilt
with MLflow's own ``set_telemetry_client()``, which then installs none.
"""

from __future__ import annotations

import os
import sys


def disable_dependency_telemetry() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if "mlflow.telemetry.client" in sys.modules:  # imported before us (kedro-mlflow's CLI plugin)
        from mlflow.telemetry.client import set_telemetry_client

        set_telemetry_client()
