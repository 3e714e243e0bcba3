"""Predict from RAW tables with a model bundle (no MLflow here; the pyfunc wraps this).

Outputs, one table per task kind:

* ``dna_coding``: one row per base: ``id, position, coding_probability`` (windows of
  ``preprocessing["window"]`` / ``["overlap"]``, overlapping predictions averaged);
* ``dna_classify``: one row per sequence: ``id, predicted, p_<class>...``;
* ``vitals_mortality``: one row per patient: ``patient_id, risk``;
* ``vitals_sepsis``: one row per patient-hour: ``patient_id, time, risk``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqhealth.genomics.alphabet import encode
from seqhealth.genomics.orf import coding_features
from seqhealth.genomics.windows import cut_windows, stitch
from seqhealth.models.module import SequenceModel
from seqhealth.tasks import TASK_NAMES
from seqhealth.tasks.fit import load_model, predict_samples
from seqhealth.tracking.raw_inputs import (
    dna_records,
    placeholder_target,
    vitals_long_table,
    vitals_samples,
)

TASK_KINDS = {
    ("tokens", "tagging"): "dna_coding",
    ("tokens", "sequence"): "dna_classify",
    ("features", "sequence"): "vitals_mortality",
    ("features", "tagging"): "vitals_sepsis",
}


def task_of(bundle: dict) -> str:
    """The task a bundle predicts: its own ``task`` (tuned and retrained bundles keep it), else
    inferred from the model's shape."""
    if bundle.get("task") in TASK_NAMES:
        return bundle["task"]
    hparams = bundle["hparams"]
    return TASK_KINDS[(hparams["input_kind"], hparams["task_kind"])]


class RawPredictor:
    """A bundle turned into a model once, then ``predict(frame)`` any number of times."""

    def __init__(self, bundle: dict, limits: dict | None = None):
        self.bundle = bundle
        self.task = task_of(bundle)
        self.limits = limits
        self.model: SequenceModel = load_model(bundle)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.task == "dna_coding":
            return self._coding(frame)
        if self.task == "dna_classify":
            return self._classify(frame)
        return self._vitals(frame)

    # ------------------------------------------------------------------------ DNA
    def _coding(self, frame: pd.DataFrame) -> pd.DataFrame:
        ids, sequences = dna_records(frame, self.limits)
        window = int(self.bundle["preprocessing"]["window"])
        overlap = int(self.bundle["preprocessing"]["overlap"])
        samples, layouts = [], []
        for sequence in sequences:
            tokens = encode(sequence)
            if self.bundle["preprocessing"].get("orf_features"):
                tokens = coding_features(tokens)  # same per-record features as in training
            windows = cut_windows(len(tokens), window, overlap)
            layouts.append((len(samples), [start for start, _ in windows], len(tokens)))
            for start, end in windows:
                samples.append({"x": tokens[start:end], "y": placeholder_target("tagging", end - start), "length": end - start})
        window_probs = predict_samples(self.model, samples)
        probs = [stitch(starts, window_probs[first : first + len(starts)], length) for first, starts, length in layouts]
        return pd.DataFrame(
            {
                "id": np.repeat(np.asarray(ids, dtype=object), [len(p) for p in probs]),
                "position": np.concatenate([np.arange(len(p), dtype=np.int64) for p in probs]),
                "coding_probability": np.concatenate(probs).astype(np.float64),
            }
        )

    def _classify(self, frame: pd.DataFrame) -> pd.DataFrame:
        ids, sequences = dna_records(frame, self.limits)
        max_length = self.bundle["preprocessing"].get("max_length")
        samples = []
        for sequence in sequences:
            tokens = encode(sequence)
            tokens = tokens[:max_length] if max_length else tokens
            samples.append({"x": tokens, "y": 0, "length": len(tokens)})
        probs = np.asarray([np.atleast_1d(p) for p in predict_samples(self.model, samples)], dtype=np.float64)
        if probs.shape[1] == 1:  # binary head: P(second class)
            probs = np.column_stack([1 - probs[:, 0], probs[:, 0]])
        names = list(self.bundle["class_names"])
        out = pd.DataFrame(probs, columns=[f"p_{name}" for name in names])
        out.insert(0, "predicted", [names[i] for i in probs.argmax(1)])
        out.insert(0, "id", ids)
        return out

    # --------------------------------------------------------------------- vitals
    def _vitals(self, frame: pd.DataFrame) -> pd.DataFrame:
        preprocessing = self.bundle["preprocessing"]
        clean = vitals_long_table(frame, preprocessing, self.task, self.limits)
        task_kind = self.bundle["hparams"]["task_kind"]
        patients, samples, times = vitals_samples(clean, preprocessing, task_kind)
        probs = predict_samples(self.model, samples)
        if task_kind == "sequence":
            return pd.DataFrame(
                {"patient_id": patients, "risk": np.asarray(probs, dtype=np.float64).ravel()}
            )
        return pd.DataFrame(
            {
                "patient_id": np.repeat(np.asarray(patients, dtype=object), [len(t) for t in times]),
                "time": np.concatenate(times).astype(np.float64),
                "risk": np.concatenate(probs).astype(np.float64),
            }
        )
