"""``vitals_mortality``: in-hospital death from the first 48 h of an ICU stay (PhysioNet 2012)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from seqhealth.engine.evaluation import metrics_document, prevalence_baseline
from seqhealth.engine.fit import predict_samples
from seqhealth.models.metrics import binary_metrics
from seqhealth.reporting import learning_curves_figure, reliability_figure, roc_pr_figures
from seqhealth.splits import split_groups
from seqhealth.tasks.vitals_common import VitalsTask
from seqhealth.vitals.demo import write_mortality_demo
from seqhealth.vitals.features import build_patient_sequences
from seqhealth.vitals.schema import P2012_FEATURES, RANGES_2012


class VitalsMortalityTask(VitalsTask):
    name = "vitals_mortality"
    summary = "in-hospital death from the first 48 h of an ICU stay (PhysioNet 2012 or long CSV)"
    raw_format = "physionet2012"
    ranges = RANGES_2012
    variables = P2012_FEATURES
    times = "observed"
    ingest_node = "validate_stays"
    build_node = "build_normalised_stay_sequences"
    headline_metrics = ("auroc", "brier")

    def build_model_input(self, clean_long: pd.DataFrame, labels: pd.DataFrame, params: dict,
                          split: Callable = split_groups, assignment: dict | None = None) -> dict:  # fmt: skip
        """One sample per stay: its first ``max_hours`` hours -> in-hospital death.

        Steps are the stay's own observation times, binned to ``step_hours`` when set (see
        ``parameters_vitals_mortality.yml`` for the measured effect); ``channels`` picks the input
        feature groups (``vitals.features.CHANNELS``; default all). ``assignment`` (patient id ->
        train/val/test) replaces the seeded split, e.g. for one fold of ``tasks.cross_validation``.
        """
        sequences = build_patient_sequences(clean_long, P2012_FEATURES, max_hours=params.get("max_hours", 48),
                                            step_hours=params.get("step_hours"))  # fmt: skip
        label_of = dict(zip(labels["patient_id"].astype(str), labels["label"].astype(int)))
        sequences = {p: s for p, s in sequences.items() if p in label_of}
        model_input = self.vitals_model_input(
            sequences, lambda patient, seq, stats: label_of[patient], {p: label_of[p] for p in sequences}, params,
            causal=False, task_kind="sequence", split=split, assignment=assignment,
        )  # fmt: skip
        model_input["pos_weight"] = self.inverse_odds(model_input["splits"])
        return model_input

    def evaluate(self, bundle: dict, model_input: dict, history: list[dict]):
        """AUROC, AUPRC, sensitivity at 90 % specificity and calibration on held-out patients."""
        test = model_input["splits"]["test"]
        y = np.asarray([int(s["y"]) for s in test])
        prob = np.asarray(predict_samples(bundle, test), dtype=np.float64).ravel()
        train_y = np.asarray([int(s["y"]) for s in model_input["splits"]["train"]])
        metrics = metrics_document(
            self.name, model_input, bundle, binary_metrics(y, prob), unit="patient",
            baseline=prevalence_baseline(train_y, y), data_fingerprint=model_input["fingerprint"]["sha256"],
        )  # fmt: skip
        predictions = pd.DataFrame({"patient_id": model_input["patients"]["test"], "label": y, "risk": prob.astype(np.float32)})
        figures = {
            **roc_pr_figures(y, prob, self.name),
            **reliability_figure(y, prob, self.name),
            **learning_curves_figure(history, self.name),
        }
        return metrics, predictions, figures

    # ------------------------------------------------------------------------------ serving
    def response_columns(self, bundle: dict) -> list[tuple[str, str]]:
        return [("string", "patient_id"), ("double", "risk")]

    def predict_request(self, model, bundle: dict, frame: pd.DataFrame, limits: dict) -> pd.DataFrame:
        """One row per patient: ``patient_id, risk``."""
        patients, probs, _times, _clean = self.encoded_request(model, bundle, frame, limits)
        return pd.DataFrame({"patient_id": patients, "risk": np.asarray(probs, dtype=np.float64).ravel()})

    def write_demo(self, folder: Path, seed: int = 0) -> None:
        write_mortality_demo(folder, seed)


TASK = VitalsMortalityTask()
