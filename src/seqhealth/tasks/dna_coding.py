"""``dna_coding``: which bases of a genome are protein-coding (per-base tagging on held-out loci).

GenBank records with CDS features -> validated records -> windows cut inside non-overlapping
coordinate blocks (loci are split, never windows) -> BiRNN tagger -> per-base calls stitched back
over whole loci.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from seqhealth.engine.evaluation import best_mcc_threshold, metrics_document, prevalence_baseline
from seqhealth.engine.fingerprint import samples_fingerprint
from seqhealth.engine.fit import load_model, predict_samples
from seqhealth.genomics.alphabet import VOCAB_SIZE, encode
from seqhealth.genomics.demo import write_coding_demo
from seqhealth.genomics.gene_calls import call_genes, calls_track, unscorable_reason
from seqhealth.genomics.gene_finder import (
    CALL_COLUMNS,
    call_records,
    calls_frame,
    decoder_with,
    fit_gene_model,
    gff3_text,
    tune_decoder,
)  # fmt: skip
from seqhealth.genomics.gene_metrics import gene_level_metrics
from seqhealth.genomics.labels import N_FRAME_CLASSES, coding_track, frame_track
from seqhealth.genomics.orf import N_CODING_FEATURES, coding_features, stop_index
from seqhealth.genomics.readers import read_sequence_records
from seqhealth.genomics.streaming import SequenceSource, validate_dna_stream
from seqhealth.genomics.validation import validate_dna_records
from seqhealth.genomics.window_samples import WindowSamples
from seqhealth.genomics.windows import cut_windows, stitch
from seqhealth.models.metrics import binary_metrics
from seqhealth.models.training import torch_threads
from seqhealth.reporting import learning_curves_figure, roc_pr_figures
from seqhealth.serving.raw_inputs import RawInputError, dna_records, placeholder_target
from seqhealth.splits import genomic_blocks, split_groups
from seqhealth.tasks.dna_common import DnaTask

# Decoder settings tried on validation loci (calibrate) when parameters name none; a network
# weight of 0 is the decoder without the network, so calibration can never do worse than it on val.
DEFAULT_GRID = {"network_weight": [0.0, 0.05, 0.1, 0.2, 0.3], "bias": [-2.0, -1.5, -1.0, -0.5]}


def record_probabilities(model, preprocessing: dict, token_arrays: list[np.ndarray]) -> list[np.ndarray]:
    """float32[L] coding probability of every base of whole records: windows as in training,
    overlapping predictions averaged."""
    window, overlap = int(preprocessing["window"]), int(preprocessing["overlap"])
    samples, layouts = [], []
    for tokens in token_arrays:
        x = coding_features(tokens) if preprocessing.get("orf_features") else tokens
        windows = cut_windows(len(x), window, overlap)
        layouts.append((len(samples), [start for start, _ in windows], len(x)))
        samples += [{"x": x[a:b], "y": placeholder_target("tagging", b - a), "length": b - a} for a, b in windows]
    with torch_threads(preprocessing.get("inference_threads")):
        window_probs = predict_samples(model, samples)
    return [stitch(starts, window_probs[first : first + len(starts)], n) for first, starts, n in layouts]


FRAME_CLASS_NAMES = ["non-coding", "+0", "+1", "+2", "-0", "-1", "-2"]


def coding_probability(prob: np.ndarray) -> np.ndarray:
    """P(coding) per base from a binary track or from strand/frame class probabilities."""
    prob = np.asarray(prob)
    return prob if prob.ndim == 1 else 1.0 - prob[:, 0]


def _json_numbers(values: dict) -> dict:
    """NaN (e.g. a precision with no call) as None, so metrics.json stays valid JSON."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in values.items()}


def _requested_output(frame: pd.DataFrame) -> str:
    if "output" not in frame.columns:
        return "bases"
    values = set(frame["output"].fillna("bases").astype(str).str.strip().str.lower()) - {""}
    if not values <= {"bases", "genes"} or len(values) > 1:
        raise RawInputError(f"column 'output' must hold one value for the whole request, 'bases' or 'genes'; got {sorted(values)}")
    return values.pop() if values else "bases"


class DnaCodingTask(DnaTask):
    name = "dna_coding"
    summary = "per-base coding / non-coding calls on genomes (GenBank CDS features as truth)"
    raw_inputs = ("raw_records",)
    builder_inputs = ("records",)
    params_key = "windows"
    group_unit = "locus"
    ingest_node = "validate_genomes"
    build_node = "cut_windows_on_split_loci"
    # Gene-call figures next to the per-base ones; precisions are undefined (None) with no call,
    # so they stay out of the headline the registry requires to be finite.
    headline_metrics = ("mcc", "auroc", "mcc_calls", "stop_sensitivity")
    # With ``output=genes`` a record with no call is listed with this reason (serving.predictors).
    unscored_reason = "no gene call on this record (no ORF scored above the decoder's threshold)"
    # A tagger needs both kinds of base to learn from: a GenBank file without CDS features has
    # none coding (issue 15); val/test need both for MCC/AUROC. Windows are the samples.
    # Coding vs non-coding whatever the labels (0/1, or the six strand/frame classes 1-6).
    gate_minimums = {"unit": "bases", "min_per_class": {"train": 100, "val": 1, "test": 1},
                     "class_groups": {"non-coding": [0], "coding": [1, 2, 3, 4, 5, 6]}}  # fmt: skip

    def read_raw(self, path: Path, options: dict | None = None) -> dict:
        """Raw records as a table, or (``options["stream"]``, what the catalog's dataset gives) a
        ``SequenceSource`` that ingest reads file by file (issue 21: memory bounded by a file)."""
        if (options or {}).get("stream"):
            return {"raw_records": SequenceSource(Path(path))}
        return {"raw_records": read_sequence_records(Path(path))}

    def ingest(self, raw: dict, params: dict) -> dict:
        source = raw["raw_records"]
        validate = validate_dna_stream if isinstance(source, SequenceSource) else validate_dna_records
        records, quarantine, report = validate(source)
        return {"records": records, "quarantine": quarantine, "ingest_report": report}

    def build_model_input(self, records: pd.DataFrame, params: dict, split: Callable = split_groups) -> dict:
        """Windows cut inside non-overlapping coordinate blocks; blocks (loci) are split, not windows.

        Test and validation blocks keep their window layout so predictions can be stitched back
        to per-base calls over the whole block. Splits are ``WindowSamples``: per-record uint8
        tokens and labels + a window index, each window (and its ORF features) cut when read.
        """
        window, overlap = int(params["window"]), int(params["overlap"])
        use_orf = bool(params.get("orf_features", False))
        # Labels: coding / non-coding, or (``frame_labels``) the strand and reading frame of the
        # coding base, which lets the decoder tell a gene from its shadow ORFs (labels.frame_track).
        frames = bool(params.get("frame_labels", False))
        ids = list(records["record_id"])
        number = {rid: i for i, rid in enumerate(ids)}
        # ORF features span window edges: the stop index of the whole record (a few KB per 100 kb)
        # rebuilds any window's features exactly (genomics.orf.window_features).
        stored = [
            {"tokens": t, "labels": (frame_track if frames else coding_track)(int(n), cds),
             **({"orf_index": stop_index(t)} if use_orf else {})}
            for t, n, cds in zip(records["tokens"], records["length"], records["cds_parts"])
        ]  # fmt: skip
        blocks = genomic_blocks(dict(zip(ids, records["length"].astype(int))), int(params["block_size"]))
        # The split is made inside each record (its blocks are one stratum), so every genome of a
        # folder has held-out loci and a single record splits as it always did.
        assignment = split(list(range(len(blocks))), params.get("split"), seed=int(params.get("seed", 0)),
                           strata={index: block[0] for index, block in enumerate(blocks)})  # fmt: skip
        window_rows: dict[str, list[tuple[int, int, int]]] = {"train": [], "val": [], "test": []}
        layouts: dict[str, list[dict]] = {"val": [], "test": []}
        for block_index, (record_id, block_start, block_end) in enumerate(blocks):
            part = assignment[block_index]
            windows = cut_windows(block_end - block_start, window, overlap)
            first_sample = len(window_rows[part])
            window_rows[part] += [(number[record_id], block_start + a, b - a) for a, b in windows]
            if part in layouts:
                layouts[part].append({"record_id": record_id, "start": block_start, "end": block_end,
                                      "window_starts": [s for s, _ in windows], "first_sample": first_sample})  # fmt: skip
        splits = {part: WindowSamples(stored, np.asarray(rows, dtype=np.int64), use_orf) for part, rows in window_rows.items()}
        coding_train = sum(int(np.count_nonzero(stored[r]["labels"][a : a + n])) for r, a, n in window_rows["train"])
        coding_fraction = coding_train / int(splits["train"].lengths.sum()) if len(splits["train"]) else 0.0
        # Gene finding: hexamer/start statistics of the genes inside TRAINING loci; whole records
        # (tokens + annotation) so val/test genes are called on whole records, scored on their loci.
        train_loci = [block for index, block in enumerate(blocks) if assignment[index] == "train"]
        gene_model = fit_gene_model(records, train_loci)
        genomes = {
            rid: {"tokens": t, "length": int(n), "cds_parts": cds}
            for rid, t, n, cds in zip(records["record_id"], records["tokens"], records["length"], records["cds_parts"])
        }  # fmt: skip
        return {
            "task": self.name,
            "task_kind": "tagging",
            "n_classes": N_FRAME_CLASSES if frames else 1,
            "input_kind": "features" if use_orf else "tokens",
            "input_size": N_CODING_FEATURES if use_orf else VOCAB_SIZE,
            # The minority class is non-coding in bacteria (~14 %): weight positives accordingly.
            "pos_weight": None if frames else (1 - coding_fraction) / max(coding_fraction, 1e-6),
            "splits": splits,
            "layouts": layouts,
            "preprocessing": {"kind": "dna_tokens", "window": window, "overlap": overlap, "orf_features": use_orf,
                              "inference_threads": params.get("inference_threads"),
                              "gene_model": gene_model, "decoder": decoder_with(gene_model, params.get("gene_calls"))},  # fmt: skip
            "genomes": genomes,
            "decoder_grid": dict((params.get("gene_calls") or {}).get("tune") or DEFAULT_GRID),
            "class_names": FRAME_CLASS_NAMES if frames else ["non-coding", "coding"],
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
        with torch_threads(bundle["preprocessing"].get("inference_threads")):
            window_probs = predict_samples(bundle, samples)
        truths, probs, per_block = [], [], []
        for layout in model_input["layouts"][part]:
            n, first = len(layout["window_starts"]), layout["first_sample"]
            length = layout["end"] - layout["start"]
            block_prob = coding_probability(stitch(layout["window_starts"], window_probs[first : first + n], length))
            block_truth = np.zeros(length, dtype=np.uint8)
            for start, sample in zip(layout["window_starts"], samples[first : first + n]):
                block_truth[start : start + sample["length"]] = np.asarray(sample["y"]) > 0
            truths.append(block_truth)
            probs.append(block_prob)
            per_block.append((layout, block_truth, block_prob))
        return np.concatenate(truths), np.concatenate(probs), per_block

    @staticmethod
    def _loci(model_input: dict, part: str) -> list[tuple[str, int, int]]:
        return [(block["record_id"], block["start"], block["end"]) for block in model_input["layouts"][part]]

    @staticmethod
    def _genome_calls(bundle: dict, model_input: dict, loci: list, decoder: dict | None = None):
        """``(genomes, probabilities, calls)`` on the whole records holding ``loci``."""
        genomes = model_input["genomes"]
        ids = sorted({record_id for record_id, _, _ in loci})
        model = load_model(bundle)
        probs = dict(zip(ids, record_probabilities(model, bundle["preprocessing"], [genomes[i]["tokens"] for i in ids])))
        gene_model = bundle["preprocessing"].get("gene_model")
        decoder = decoder or decoder_with(gene_model, bundle["preprocessing"].get("decoder"))
        return genomes, probs, call_records(genomes, probs, decoder, gene_model)

    def calibrate(self, bundle: dict, model_input: dict) -> dict:
        """The decoder's per-base price and hexamer weight, chosen on VALIDATION loci."""
        loci = self._loci(model_input, "val")
        if not loci or "genomes" not in model_input:
            return bundle
        preprocessing = bundle["preprocessing"]
        gene_model = preprocessing.get("gene_model")
        genomes, probs, _ = self._genome_calls(bundle, model_input, loci)
        decoder, trials = tune_decoder(genomes, probs, loci, gene_model, preprocessing.get("decoder"),
                                       model_input.get("decoder_grid") or DEFAULT_GRID)  # fmt: skip
        return {**bundle, "preprocessing": {**preprocessing, "decoder": decoder}, "decoder_tuning": trials}

    def _gene_call_metrics(self, bundle: dict, model_input: dict) -> tuple[dict, dict]:
        """Gene-level metrics of the calls on test loci, and of the same decoder without the
        network (hexamer and start statistics alone, every base at even odds) as the anchor."""
        loci = self._loci(model_input, "test")
        genomes, probs, calls = self._genome_calls(bundle, model_input, loci)
        gene_model = bundle["preprocessing"].get("gene_model")
        decoder = decoder_with(gene_model, bundle["preprocessing"].get("decoder"))
        even = {rid: np.full(len(p), 0.5, dtype=np.float32) for rid, p in probs.items()}
        anchor = gene_level_metrics(genomes, call_records(genomes, even, {**decoder, "bias": 0.0}, gene_model), loci)
        return gene_level_metrics(genomes, calls, loci), {"calls": calls, "anchor": anchor, "decoder": decoder}

    def evaluate(self, bundle: dict, model_input: dict, history: list[dict]):
        """Per-base metrics on held-out loci; the MCC threshold is picked on validation loci."""
        val_truth, val_prob, _ = self._stitched_calls(bundle, model_input, "val")
        threshold = best_mcc_threshold(val_truth, val_prob)
        truth, prob, per_block = self._stitched_calls(bundle, model_input, "test")
        train_y = np.concatenate([s["y"] for s in model_input["splits"]["train"]]) > 0
        metrics = metrics_document(
            self.name, model_input, bundle, binary_metrics(truth, prob, threshold=threshold), unit="base",
            threshold=threshold, n_test_bases=int(len(truth)), baseline=prevalence_baseline(train_y, truth),
            data_fingerprint=model_input["fingerprint"]["sha256"],
        )  # fmt: skip
        genes, extra = self._gene_call_metrics(bundle, model_input) if "genomes" in model_input else ({}, {})
        if genes:
            # Gene-finder figures next to the per-base ones (per-base MCC of the track the calls cover).
            metrics["test"].update({("mcc_calls" if k == "per_base_mcc" else k): (float(v) if np.isfinite(v) else None)
                                    for k, v in genes.items() if not k.startswith("n_")})  # fmt: skip
            metrics["gene_calls"] = {"test": _json_numbers(genes), "anchor": {"name": "decoder without the network", "description":
                                     "same ORFs, hexamer and start statistics; every base at even odds", **_json_numbers(extra["anchor"])},
                                     "decoder": {k: v for k, v in extra["decoder"].items() if k != "start_log_ratio"},
                                     "decoder_tuning_on_val": bundle.get("decoder_tuning", [])}  # fmt: skip
        positions = [np.arange(b[0]["start"], b[0]["end"]) for b in per_block]
        predictions = pd.DataFrame(
            {
                "record_id": np.concatenate([[b[0]["record_id"]] * len(b[1]) for b in per_block]),
                "position": np.concatenate(positions),
                "coding": truth.astype(np.int8),
                "coding_probability": prob.astype(np.float32),
            }
        )
        if genes:  # the per-base track derived from the gene calls, next to the raw probabilities
            tracks = {rid: calls_track(c, model_input["genomes"][rid]["length"]) for rid, c in extra["calls"].items()}
            predictions["in_gene_call"] = np.concatenate([tracks[b[0]["record_id"]][p] for b, p in zip(per_block, positions)]).astype(np.int8)
        figures = {**roc_pr_figures(truth, prob, f"{self.name} (per base)"), **learning_curves_figure(history, self.name)}
        return metrics, predictions, figures

    # ------------------------------------------------------------------------------ serving
    # ``output`` (optional, one value for the whole request): ``bases`` (default) gives one row per
    # base, ``genes`` one row per gene call (``genomics.gene_finder.CALL_COLUMNS``).
    request_columns = [*DnaTask.request_columns, ("string", "output", False)]

    def response_columns(self, bundle: dict) -> list[tuple[str, str]]:
        return [("string", "id"), ("long", "position"), ("double", "coding_probability"), ("long", "in_gene_call")]

    def prepare_request(self, raw_input: dict):
        """As for every DNA task, and records on which no gene can be called (shorter than a
        codon, only N, no ORF long enough) are quarantined with the reason, not scored."""
        request, quarantine, report = super().prepare_request(raw_input)
        reasons = [unscorable_reason(encode(sequence)) for sequence in request["sequence"]]
        bad = [i for i, reason in enumerate(reasons) if reason]
        if bad:
            rows = pd.DataFrame({"source_file": "", "record_id": request["id"].iloc[bad].to_numpy(),
                                 "field": "sequence", "reason": [reasons[i] for i in bad]})  # fmt: skip
            quarantine = pd.concat([quarantine, rows.reindex(columns=quarantine.columns)], ignore_index=True)
            request = request.drop(index=request.index[bad]).reset_index(drop=True)
            report = {**report, "n_records_without_gene": len(bad)}
        return request, quarantine, report

    def predict_request(self, model, bundle: dict, frame: pd.DataFrame, limits: dict) -> pd.DataFrame:
        """Per-base probabilities + the track of the gene calls, or (``output=genes``) the calls."""
        output = _requested_output(frame)
        ids, sequences = dna_records(frame.drop(columns=["output"], errors="ignore"), limits)
        preprocessing = bundle["preprocessing"]
        tokens = [encode(sequence) for sequence in sequences]
        probs = record_probabilities(model, preprocessing, tokens)
        gene_model = preprocessing.get("gene_model")
        decoder = decoder_with(gene_model, preprocessing.get("decoder"))
        calls = [call_genes(t, p, decoder, gene_model) for t, p in zip(tokens, probs)]
        if output == "genes":
            frames = [calls_frame(i, c) for i, c in zip(ids, calls)]
            return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CALL_COLUMNS)
        return pd.DataFrame(
            {
                "id": np.repeat(np.asarray(ids, dtype=object), [len(p) for p in probs]),
                "position": np.concatenate([np.arange(len(p), dtype=np.int64) for p in probs]),
                "coding_probability": np.concatenate([coding_probability(p) for p in probs]).astype(np.float64),
                "in_gene_call": np.concatenate([calls_track(c, len(p)) for c, p in zip(calls, probs)]).astype(np.int64),
            }
        )

    def predict_outputs(self, score, request: pd.DataFrame, predictions: pd.DataFrame) -> dict:
        """``genes.gff3`` and ``genes.csv`` (the calls as rows) next to the per-base predictions.

        Never an empty GFF3 presented as a result: a run in which no record got a gene call raises
        with the reason, and records without a call are listed in ``genes_report.json``.
        """
        scored = score(request.assign(output="genes"))
        # A record without a call comes back as one row with null fields and a reason (serving).
        calls = scored[scored["gene_id"].notna()].drop(columns=["reason"], errors="ignore").reset_index(drop=True)
        calls = calls.astype({"start": np.int64, "end": np.int64})
        lengths = dict(zip(request["id"].astype(str), request["sequence"].str.len()))
        without = sorted(set(lengths) - set(calls["id"].astype(str)))
        if calls.empty:
            raise ValueError(f"predict {self.name}: no gene call on any of the {len(lengths)} records "
                             f"({', '.join(without[:5])}{', ...' if len(without) > 5 else ''}); no GFF3 written")  # fmt: skip
        report = {"n_records": len(lengths), "n_calls": int(len(calls)), "records_without_call": without}
        return {"genes.gff3": gff3_text(calls, lengths), "genes.csv": calls, "genes_report.json": json.dumps(report, indent=2) + "\n"}

    # --------------------------------------------------------------------------- explanations
    def explain_featurizer(self, bundle: dict):
        """ISM recomputes the ORF features of every mutant on the whole record: mutating a stop
        codon lengthens the ORF it closed, and that change is the point of explaining a gene."""
        return coding_features if bundle["preprocessing"].get("orf_features") else None

    def write_demo(self, folder: Path, seed: int = 0) -> None:
        write_coding_demo(folder, seed)


TASK = DnaCodingTask()
