"""``dna_coding``: which bases of a genome are protein-coding (per-base tagging on held-out loci).

GenBank records with CDS features -> validated records -> windows cut inside non-overlapping
coordinate blocks (loci are split, never windows) -> BiRNN tagger -> per-base calls stitched back
over whole loci.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from seqhealth.engine.evaluation import best_mcc_threshold, metrics_document, prevalence_baseline
from seqhealth.engine.fingerprint import samples_fingerprint
from seqhealth.engine.fit import predict_samples
from seqhealth.genomics.alphabet import VOCAB_SIZE, encode
from seqhealth.genomics.demo import write_coding_demo
from seqhealth.genomics.labels import coding_track
from seqhealth.genomics.orf import N_CODING_FEATURES, coding_features
from seqhealth.genomics.readers import read_sequence_records
from seqhealth.genomics.validation import validate_dna_records
from seqhealth.genomics.windows import cut_windows, stitch
from seqhealth.models.metrics import binary_metrics
from seqhealth.reporting import learning_curves_figure, roc_pr_figures
from seqhealth.serving.raw_inputs import dna_records, placeholder_target
from seqhealth.splits import genomic_blocks, split_groups
from seqhealth.tasks.dna_common import DnaTask


class DnaCodingTask(DnaTask):
    name = "dna_coding"
    summary = "per-base coding / non-coding calls on genomes (GenBank CDS features as truth)"
    raw_inputs = ("raw_records",)
    builder_inputs = ("records",)
    params_key = "windows"
    group_unit = "locus"
    ingest_node = "validate_genomes"
    build_node = "cut_windows_on_split_loci"
    headline_metrics = ("mcc", "auroc")
    # A tagger needs both kinds of base to learn from: a GenBank file without CDS features has
    # none coding (issue 15); val/test need both for MCC/AUROC. Windows are the samples.
    gate_minimums = {"unit": "bases", "min_per_class": {"train": 100, "val": 1, "test": 1}}

    def read_raw(self, path: Path, options: dict | None = None) -> dict:
        return {"raw_records": read_sequence_records(Path(path))}

    def ingest(self, raw: dict, params: dict) -> dict:
        records, quarantine, report = validate_dna_records(raw["raw_records"])
        return {"records": records, "quarantine": quarantine, "ingest_report": report}

    def build_model_input(self, records: pd.DataFrame, params: dict, split: Callable = split_groups) -> dict:
        """Windows cut inside non-overlapping coordinate blocks; blocks (loci) are split, not windows.

        Test and validation blocks keep their window layout so predictions can be stitched back
        to per-base calls over the whole block.
        """
        window, overlap = int(params["window"]), int(params["overlap"])
        use_orf = bool(params.get("orf_features", False))
        # Features are computed on whole records (an ORF spans window edges), then cut like tokens.
        tokens = {rid: coding_features(t) if use_orf else t for rid, t in zip(records["record_id"], records["tokens"])}
        tracks = {
            rid: coding_track(int(length), cds)
            for rid, length, cds in zip(records["record_id"], records["length"], records["cds_parts"])
        }
        blocks = genomic_blocks(dict(zip(records["record_id"], records["length"].astype(int))), int(params["block_size"]))
        assignment = split(list(range(len(blocks))), params.get("split"), seed=int(params.get("seed", 0)))
        splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
        layouts: dict[str, list[dict]] = {"val": [], "test": []}
        for block_index, (record_id, block_start, block_end) in enumerate(blocks):
            part = assignment[block_index]
            windows = cut_windows(block_end - block_start, window, overlap)
            first_sample = len(splits[part])
            for start, end in windows:
                a, b = block_start + start, block_start + end
                splits[part].append({"x": tokens[record_id][a:b], "y": tracks[record_id][a:b], "length": b - a})
            if part in layouts:
                layouts[part].append({"record_id": record_id, "start": block_start, "end": block_end,
                                      "window_starts": [s for s, _ in windows], "first_sample": first_sample})  # fmt: skip
        train_y = np.concatenate([s["y"] for s in splits["train"]]) if splits["train"] else np.zeros(1)
        coding_fraction = float(train_y.mean())
        return {
            "task": self.name,
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

    def group_key(self, builder_inputs: tuple, section: dict) -> Callable:
        """``split`` sees block indices; name them by coordinates (stable across new records)."""
        (records,) = builder_inputs
        lengths = dict(zip(records["record_id"], records["length"].astype(int)))
        blocks = genomic_blocks(lengths, int(section["block_size"]))
        return lambda index: f"{blocks[index][0]}:{blocks[index][1]}-{blocks[index][2]}"

    @staticmethod
    def _stitched_calls(bundle: dict, model_input: dict, part: str):
        """Per-base truth and stitched probabilities over every block of a split."""
        samples = model_input["splits"][part]
        window_probs = predict_samples(bundle, samples)
        truths, probs, per_block = [], [], []
        for layout in model_input["layouts"][part]:
            n, first = len(layout["window_starts"]), layout["first_sample"]
            length = layout["end"] - layout["start"]
            block_prob = stitch(layout["window_starts"], window_probs[first : first + n], length)
            block_truth = np.zeros(length, dtype=np.uint8)
            for start, sample in zip(layout["window_starts"], samples[first : first + n]):
                block_truth[start : start + sample["length"]] = sample["y"]
            truths.append(block_truth)
            probs.append(block_prob)
            per_block.append((layout, block_truth, block_prob))
        return np.concatenate(truths), np.concatenate(probs), per_block

    def evaluate(self, bundle: dict, model_input: dict, history: list[dict]):
        """Per-base metrics on held-out loci; the MCC threshold is picked on validation loci."""
        val_truth, val_prob, _ = self._stitched_calls(bundle, model_input, "val")
        threshold = best_mcc_threshold(val_truth, val_prob)
        truth, prob, per_block = self._stitched_calls(bundle, model_input, "test")
        train_y = np.concatenate([s["y"] for s in model_input["splits"]["train"]])
        metrics = metrics_document(
            self.name, model_input, bundle, binary_metrics(truth, prob, threshold=threshold), unit="base",
            threshold=threshold, n_test_bases=int(len(truth)), baseline=prevalence_baseline(train_y, truth),
            data_fingerprint=model_input["fingerprint"]["sha256"],
        )  # fmt: skip
        predictions = pd.DataFrame(
            {
                "record_id": np.concatenate([[b[0]["record_id"]] * len(b[1]) for b in per_block]),
                "position": np.concatenate([np.arange(b[0]["start"], b[0]["end"]) for b in per_block]),
                "coding": truth.astype(np.int8),
                "coding_probability": prob.astype(np.float32),
            }
        )
        figures = {**roc_pr_figures(truth, prob, f"{self.name} (per base)"), **learning_curves_figure(history, self.name)}
        return metrics, predictions, figures

    # ------------------------------------------------------------------------------ serving
    def response_columns(self, bundle: dict) -> list[tuple[str, str]]:
        return [("string", "id"), ("long", "position"), ("double", "coding_probability")]

    def predict_request(self, model, bundle: dict, frame: pd.DataFrame, limits: dict) -> pd.DataFrame:
        """One row per base; windows as in training, overlapping predictions averaged."""
        ids, sequences = dna_records(frame, limits)
        preprocessing = bundle["preprocessing"]
        window, overlap = int(preprocessing["window"]), int(preprocessing["overlap"])
        samples, layouts = [], []
        for sequence in sequences:
            tokens = encode(sequence)
            if preprocessing.get("orf_features"):
                tokens = coding_features(tokens)  # same per-record features as in training
            windows = cut_windows(len(tokens), window, overlap)
            layouts.append((len(samples), [start for start, _ in windows], len(tokens)))
            for start, end in windows:
                samples.append({"x": tokens[start:end], "y": placeholder_target("tagging", end - start), "length": end - start})
        window_probs = predict_samples(model, samples)
        probs = [stitch(starts, window_probs[first : first + len(starts)], length) for first, starts, length in layouts]
        return pd.DataFrame(
            {
                "id": np.repeat(np.asarray(ids, dtype=object), [len(p) for p in probs]),
                "position": np.concatenate([np.arange(len(p), dtype=np.int64) for p in probs]),
                "coding_probability": np.concatenate(probs).astype(np.float64),
            }
        )

    def write_demo(self, folder: Path, seed: int = 0) -> None:
        write_coding_demo(folder, seed)


TASK = DnaCodingTask()
