"""DNA tasks: per-base coding tagging (``dna_coding``) and sequence classification (``dna_classify``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqhealth.genomics.alphabet import VOCAB_SIZE
from seqhealth.genomics.labels import coding_track, match_labels
from seqhealth.genomics.orf import N_CODING_FEATURES, coding_features
from seqhealth.genomics.windows import cut_windows, stitch
from seqhealth.models.metrics import binary_metrics, multiclass_metrics
from seqhealth.reporting import confusion_figure, learning_curves_figure, roc_pr_figures
from seqhealth.splits import genomic_blocks, split_groups
from seqhealth.tasks.evaluation import best_mcc_threshold, metrics_document, prevalence_baseline
from seqhealth.tasks.fingerprint import samples_fingerprint
from seqhealth.tasks.fit import predict_samples

# ------------------------------------------------------------------------------ dna_coding


def build_coding_model_input(records: pd.DataFrame, params: dict) -> dict:
    """Windows cut inside non-overlapping coordinate blocks; blocks (loci) are split, not windows.

    Test and validation blocks keep their window layout so predictions can be stitched back to
    per-base calls over the whole block.
    """
    window, overlap = int(params["window"]), int(params["overlap"])
    use_orf = bool(params.get("orf_features", False))
    # Features are computed on whole records (an ORF spans window edges), then cut like tokens.
    tokens = {
        rid: coding_features(t) if use_orf else t for rid, t in zip(records["record_id"], records["tokens"])
    }
    tracks = {
        rid: coding_track(int(length), cds)
        for rid, length, cds in zip(records["record_id"], records["length"], records["cds_parts"])
    }
    blocks = genomic_blocks(dict(zip(records["record_id"], records["length"].astype(int))), int(params["block_size"]))
    assignment = split_groups(list(range(len(blocks))), params.get("split"), seed=int(params.get("seed", 0)))
    splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
    layouts: dict[str, list[dict]] = {"val": [], "test": []}
    for block_index, (record_id, block_start, block_end) in enumerate(blocks):
        split = assignment[block_index]
        windows = cut_windows(block_end - block_start, window, overlap)
        first_sample = len(splits[split])
        for start, end in windows:
            a, b = block_start + start, block_start + end
            splits[split].append({"x": tokens[record_id][a:b], "y": tracks[record_id][a:b], "length": b - a})
        if split in layouts:
            layouts[split].append(
                {
                    "record_id": record_id,
                    "start": block_start,
                    "end": block_end,
                    "window_starts": [s for s, _ in windows],
                    "first_sample": first_sample,
                }
            )
    train_y = np.concatenate([s["y"] for s in splits["train"]]) if splits["train"] else np.zeros(1)
    coding_fraction = float(train_y.mean())
    return {
        "task": "dna_coding",
        "task_kind": "tagging",
        "n_classes": 1,
        "input_kind": "features" if use_orf else "tokens",
        "input_size": N_CODING_FEATURES if use_orf else VOCAB_SIZE,
        # The minority class is non-coding in bacteria (~14 %): weight positives accordingly.
        "pos_weight": (1 - coding_fraction) / max(coding_fraction, 1e-6),
        "splits": splits,
        "layouts": layouts,
        "preprocessing": {"kind": "dna_tokens", "window": window, "overlap": overlap, "orf_features": use_orf},
        "class_names": ["non-coding", "coding"],
        "fingerprint": samples_fingerprint(splits),
        "summary": {"n_blocks": len(blocks), "coding_fraction_train": coding_fraction},
    }


def _stitched_calls(bundle: dict, model_input: dict, split: str) -> tuple[np.ndarray, np.ndarray, list]:
    """Per-base truth and stitched probabilities over every block of a split."""
    samples = model_input["splits"][split]
    window_probs = predict_samples(bundle, samples)
    truths, probs, per_block = [], [], []
    for layout in model_input["layouts"][split]:
        n = len(layout["window_starts"])
        first = layout["first_sample"]
        length = layout["end"] - layout["start"]
        block_prob = stitch(layout["window_starts"], window_probs[first : first + n], length)
        block_truth = np.zeros(length, dtype=np.uint8)
        for start, sample in zip(layout["window_starts"], samples[first : first + n]):
            block_truth[start : start + sample["length"]] = sample["y"]
        truths.append(block_truth)
        probs.append(block_prob)
        per_block.append((layout, block_truth, block_prob))
    return np.concatenate(truths), np.concatenate(probs), per_block


def evaluate_coding(bundle: dict, model_input: dict, history: list[dict]):
    """Per-base metrics on held-out loci; the MCC threshold is picked on validation loci."""
    val_truth, val_prob, _ = _stitched_calls(bundle, model_input, "val")
    threshold = best_mcc_threshold(val_truth, val_prob)
    truth, prob, per_block = _stitched_calls(bundle, model_input, "test")
    test = binary_metrics(truth, prob, threshold=threshold)
    train_y = np.concatenate([s["y"] for s in model_input["splits"]["train"]])
    metrics = metrics_document(
        "dna_coding",
        model_input,
        bundle,
        test,
        unit="base",
        threshold=threshold,
        n_test_bases=int(len(truth)),
        baseline=prevalence_baseline(train_y, truth),
        data_fingerprint=model_input["fingerprint"]["sha256"],
    )
    predictions = pd.DataFrame(
        {
            "record_id": np.concatenate([[b[0]["record_id"]] * len(b[1]) for b in per_block]),
            "position": np.concatenate([np.arange(b[0]["start"], b[0]["end"]) for b in per_block]),
            "coding": truth.astype(np.int8),
            "coding_probability": prob.astype(np.float32),
        }
    )
    figures = {**roc_pr_figures(truth, prob, "dna_coding (per base)"), **learning_curves_figure(history, "dna_coding")}
    return metrics, predictions, figures


# ---------------------------------------------------------------------------- dna_classify


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


def build_classify_model_input(labelled: pd.DataFrame, params: dict) -> dict:
    """Sequence-level samples split by sequence, stratified by class."""
    class_names = sorted(labelled["label"].astype(str).unique())
    if len(class_names) < 2:
        raise ValueError(f"dna_classify needs at least 2 classes, found {class_names}")
    class_index = {name: i for i, name in enumerate(class_names)}
    ids = labelled["record_id"].astype(str).tolist()
    strata = dict(zip(ids, labelled["label"].astype(str)))
    assignment = split_groups(ids, params.get("split"), seed=int(params.get("seed", 0)), strata=strata)
    max_length = params.get("max_length")
    splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
    for record_id, tokens, label in zip(ids, labelled["tokens"], labelled["label"].astype(str)):
        x = tokens[:max_length] if max_length else tokens
        splits[assignment[record_id]].append({"x": x, "y": class_index[label], "length": len(x)})
    counts = np.bincount([s["y"] for s in splits["train"]], minlength=len(class_names)).astype(float)
    class_weights = (counts.sum() / (len(class_names) * np.maximum(counts, 1))).tolist()
    binary = len(class_names) == 2
    return {
        "task": "dna_classify",
        "task_kind": "sequence",
        "n_classes": 1 if binary else len(class_names),
        "input_kind": "tokens",
        "input_size": VOCAB_SIZE,
        "class_weights": None if binary else class_weights,
        "pos_weight": counts[0] / max(counts[1], 1) if binary else None,
        "splits": splits,
        "preprocessing": {"kind": "dna_tokens", "max_length": max_length},
        "class_names": class_names,
        "fingerprint": samples_fingerprint(splits),
    }


def class_probabilities(bundle: dict, samples: list[dict]) -> np.ndarray:
    """``[N, K]`` class probabilities (binary models give ``[N, 2]`` too)."""
    probs = np.asarray([np.atleast_1d(p) for p in predict_samples(bundle, samples)], dtype=np.float64)
    return np.column_stack([1 - probs[:, 0], probs[:, 0]]) if probs.shape[1] == 1 else probs


def evaluate_classify(bundle: dict, model_input: dict, history: list[dict]):
    """Accuracy and macro-F1 on held-out sequences, against the majority-class baseline."""
    test = model_input["splits"]["test"]
    y = np.asarray([s["y"] for s in test])
    probs = class_probabilities(bundle, test)
    scores = multiclass_metrics(y, probs)
    train_y = np.asarray([s["y"] for s in model_input["splits"]["train"]])
    majority = np.full_like(y, np.bincount(train_y).argmax())
    one_hot = np.eye(probs.shape[1])[majority]
    metrics = metrics_document(
        "dna_classify",
        model_input,
        bundle,
        scores,
        unit="sequence",
        class_names=model_input["class_names"],
        baseline=multiclass_metrics(y, one_hot),
        data_fingerprint=model_input["fingerprint"]["sha256"],
    )
    names = model_input["class_names"]
    predictions = pd.DataFrame(probs, columns=[f"p_{n}" for n in names])
    predictions.insert(0, "label", [names[i] for i in y])
    predictions.insert(1, "predicted", [names[i] for i in probs.argmax(1)])
    figures = {
        **confusion_figure(y, probs.argmax(1), names, "dna_classify"),
        **learning_curves_figure(history, "dna_classify"),
    }
    return metrics, predictions, figures
