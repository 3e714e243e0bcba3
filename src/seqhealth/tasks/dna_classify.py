"""``dna_classify``: the class of each sequence (FASTA + labels table), split by sequence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from seqhealth.engine.evaluation import metrics_document
from seqhealth.engine.fingerprint import samples_fingerprint
from seqhealth.engine.fit import predict_samples
from seqhealth.genomics.alphabet import VOCAB_SIZE, encode
from seqhealth.genomics.baselines import classification_baselines, kmer_profile_adds_to_positions
from seqhealth.genomics.demo import write_classify_demo
from seqhealth.genomics.labels import match_labels
from seqhealth.genomics.labels_table import read_labels_tables
from seqhealth.genomics.readers import read_sequence_records
from seqhealth.genomics.validation import validate_dna_records
from seqhealth.models.metrics import multiclass_metrics
from seqhealth.reporting import confusion_figure, learning_curves_figure
from seqhealth.serving.raw_inputs import dna_records
from seqhealth.splits import split_groups
from seqhealth.tasks.dna_common import DnaTask


def label_sequences(records: pd.DataFrame, labels_table: pd.DataFrame, id_column: str, label_column: str):
    """Join sequences with the labels table; unmatched ids on either side are reported."""
    labelled, unmatched = match_labels(records, labels_table, id_column=id_column, label_column=label_column)
    report = {
        "n_sequences": int(len(records)),
        "n_labelled": int(len(labelled)),
        "n_sequences_without_label": len(unmatched["sequences_without_label"]),
        "n_labels_without_sequence": len(unmatched["labels_without_sequence"]),
        **unmatched,
    }
    return labelled, report


def common_length(splits: dict[str, list[dict]]) -> int:
    """The one length every sequence of every split has, else 0: a model's positional wide
    features (``wide_onehot``) exist only for such aligned windows (splice sites, promoters)."""
    lengths = {int(s["length"]) for samples in splits.values() for s in samples}
    return lengths.pop() if len(lengths) == 1 else 0


# The k of the wide k-mer profile when the data asks for one (`wide_kmer_size: auto`): on the
# shared samples k = 4 gave orchid 1.000 vs 0.856 with k = 3, and promoters 0.906 vs 0.865.
AUTO_WIDE_KMER_SIZE = 4


def data_hparams(splits: dict[str, list[dict]], n_classes: int) -> dict:
    """Shape facts and data-chosen settings for the model, from the training and validation
    splits only: the common length (positional wide features), and ``auto`` values the model
    params may ask for with ``auto`` (``engine.fit.model_hparams``): the wide k-mer profile for
    sequences of varied length (markers such as ITS: position means nothing there), and for
    aligned windows only where logistic regression says it clearly adds to the positions."""
    length = common_length(splits)
    kmer_size = AUTO_WIDE_KMER_SIZE
    if length:
        check = kmer_profile_adds_to_positions(splits["train"] + splits["val"], n_classes, AUTO_WIDE_KMER_SIZE)
        kmer_size = AUTO_WIDE_KMER_SIZE if check["adds"] else 0
    return {"sequence_length": length, "auto": {"wide_kmer_size": kmer_size}}


def class_probabilities(bundle_or_model, samples: list[dict]) -> np.ndarray:
    """``[N, K]`` class probabilities (binary models give ``[N, 2]`` too)."""
    probs = np.asarray([np.atleast_1d(p) for p in predict_samples(bundle_or_model, samples)], dtype=np.float64)
    return np.column_stack([1 - probs[:, 0], probs[:, 0]]) if probs.shape[1] == 1 else probs


class DnaClassifyTask(DnaTask):
    name = "dna_classify"
    summary = "the class of each sequence (FASTA + labels table)"
    raw_inputs = ("raw_records", "labels_table")
    builder_inputs = ("labelled_records",)
    extra_outputs = ("label_report",)
    ingest_node = "validate_and_label_sequences"
    build_node = "split_and_encode_sequences"
    headline_metrics = ("accuracy", "macro_f1")
    # Every class seen in training; held-out splits of small multiclass sets may miss a rare
    # class, but need two classes (a binary task: both) for the metrics to mean anything.
    gate_minimums = {"unit": "sequences", "min_per_class": {"train": 1, "val": 0, "test": 0},
                     "min_classes": {"train": 2, "val": 2, "test": 2}}  # fmt: skip

    def read_raw(self, path: Path, options: dict | None = None) -> dict:
        return {"raw_records": read_sequence_records(Path(path)), "labels_table": read_labels_tables(Path(path))}

    def ingest(self, raw: dict, params: dict) -> dict:
        records, quarantine, report = validate_dna_records(raw["raw_records"])
        labelled, label_report = label_sequences(
            records, raw["labels_table"], params.get("id_column", "id"), params.get("label_column", "label")
        )
        # Ids are counted in the ingest report; the id lists themselves stay in label_report.
        counts = {k: v for k, v in label_report.items() if not isinstance(v, list)}
        return {"labelled_records": labelled, "label_report": label_report, "quarantine": quarantine,
                "ingest_report": {**report, "labels": counts}}  # fmt: skip

    def build_model_input(self, labelled: pd.DataFrame, params: dict, split: Callable = split_groups) -> dict:
        """Sequence-level samples split by sequence, stratified by class."""
        class_names = sorted(labelled["label"].astype(str).unique())
        if len(class_names) < 2:
            raise ValueError(f"{self.name} needs at least 2 classes, found {class_names}")
        class_index = {name: i for i, name in enumerate(class_names)}
        ids = labelled["record_id"].astype(str).tolist()
        strata = dict(zip(ids, labelled["label"].astype(str)))
        assignment = split(ids, params.get("split"), seed=int(params.get("seed", 0)), strata=strata)
        max_length = params.get("max_length")
        splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
        for record_id, tokens, label in zip(ids, labelled["tokens"], labelled["label"].astype(str)):
            x = tokens[:max_length] if max_length else tokens
            splits[assignment[record_id]].append({"x": x, "y": class_index[label], "length": len(x)})
        counts = np.bincount([s["y"] for s in splits["train"]], minlength=len(class_names)).astype(float)
        class_weights = (counts.sum() / (len(class_names) * np.maximum(counts, 1))).tolist()
        binary = len(class_names) == 2
        return {
            "task": self.name,
            "task_kind": "sequence",
            "n_classes": 1 if binary else len(class_names),
            "input_kind": "tokens",
            "input_size": VOCAB_SIZE,
            "class_weights": None if binary else class_weights,
            "data_hparams": data_hparams(splits, len(class_names)),
            "pos_weight": counts[0] / max(counts[1], 1) if binary else None,
            "splits": splits,
            "preprocessing": {"kind": "dna_tokens", "max_length": max_length},
            "class_names": class_names,
            "fingerprint": samples_fingerprint(splits),
        }

    def evaluate(self, bundle: dict, model_input: dict, history: list[dict]):
        """Accuracy and macro-F1 on held-out sequences, against the majority-class baseline."""
        test = model_input["splits"]["test"]
        y = np.asarray([s["y"] for s in test])
        probs = class_probabilities(bundle, test)
        train_y = np.asarray([s["y"] for s in model_input["splits"]["train"]])
        majority = np.full_like(y, np.bincount(train_y).argmax())
        metrics = metrics_document(
            self.name, model_input, bundle, multiclass_metrics(y, probs), unit="sequence",
            class_names=model_input["class_names"], baseline=multiclass_metrics(y, np.eye(probs.shape[1])[majority]),
            # What a biologist tries first (k-mer / positional logistic regression, k-mer 1-NN),
            # fitted on the same training split: the model has to beat these, not just the majority.
            baselines=classification_baselines(model_input["splits"]["train"], model_input["splits"]["val"],
                                               test, probs.shape[1]),
            data_fingerprint=model_input["fingerprint"]["sha256"],
        )  # fmt: skip
        names = model_input["class_names"]
        predictions = pd.DataFrame(probs, columns=[f"p_{n}" for n in names])
        predictions.insert(0, "label", [names[i] for i in y])
        predictions.insert(1, "predicted", [names[i] for i in probs.argmax(1)])
        figures = {**confusion_figure(y, probs.argmax(1), names, self.name), **learning_curves_figure(history, self.name)}
        return metrics, predictions, figures

    # ------------------------------------------------------------------------------ serving
    def response_columns(self, bundle: dict) -> list[tuple[str, str]]:
        return [("string", "id"), ("string", "predicted"), *[("double", f"p_{n}") for n in bundle["class_names"]]]

    def predict_request(self, model, bundle: dict, frame: pd.DataFrame, limits: dict) -> pd.DataFrame:
        """One row per sequence: ``id, predicted, p_<class>...``."""
        ids, sequences = dna_records(frame, limits)
        max_length = bundle["preprocessing"].get("max_length")
        samples = []
        for sequence in sequences:
            tokens = encode(sequence)
            tokens = tokens[:max_length] if max_length else tokens
            samples.append({"x": tokens, "y": 0, "length": len(tokens)})
        probs = class_probabilities(model, samples)
        names = list(bundle["class_names"])
        out = pd.DataFrame(probs, columns=[f"p_{name}" for name in names])
        out.insert(0, "predicted", [names[i] for i in probs.argmax(1)])
        out.insert(0, "id", ids)
        return out

    def write_demo(self, folder: Path, seed: int = 0) -> None:
        # 150 sequences keep the default run within its time budget on 2 cores.
        write_classify_demo(folder, seed, n_classify=150)


TASK = DnaClassifyTask()
