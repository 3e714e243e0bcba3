"""Time to explain 100 sequences of 1 kb (dna_classify-shaped model: ISM + gradient x input) and
100 patients (vitals_mortality-shaped model: integrated gradients, 64 points) on the CPU, against
the time to predict them. Model shapes are the tasks' default parameters
(``conf/base/parameters_*.yml``); weights are random (cost does not depend on them). Patients
are synthetic stays of 48 hourly steps with the 2012 variables.

Run: python benchmarks/bench_explain.py [--threads 2] [--sequences 100] [--patients 100]
Prints one table; the ratios (explanation time / prediction time) carry to other machines.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch
import yaml

from seqhealth.models.module import SequenceModel
from seqhealth.tasks.dna_classify import AUTO_WIDE_KMER_SIZE
from seqhealth.tasks.registry import get_task
from seqhealth.vitals.features import CHANNELS, feature_names
from seqhealth.vitals.schema import P2012_FEATURES

CONF = __import__("pathlib").Path(__file__).resolve().parents[1] / "conf" / "base"


def _model_params(task: str) -> dict:
    return yaml.safe_load((CONF / f"parameters_{task}.yml").read_text())[task]["model"]


def dna_case(n: int, length: int, seed: int = 0):
    params = _model_params("dna_classify")
    hp = {"task_kind": "sequence", "n_classes": 3, "input_kind": "tokens", "vocab_size": 6,
          **{k: params[k] for k in ("cell", "hidden_size", "num_layers", "bidirectional", "embedding_dim", "head_pooling")},
          # The default wide head as it comes out for 1 kb sequences of varied length: no
          # positional features, the both-strand k-mer profile that `wide_kmer_size: auto` picks.
          "wide_onehot": params["wide_onehot"], "wide_kmer_size": AUTO_WIDE_KMER_SIZE}  # fmt: skip
    bundle = {"task": "dna_classify", "hparams": hp, "class_names": ["a", "b", "c"],
              "preprocessing": {"kind": "dna_tokens", "max_length": length}}  # fmt: skip
    rng = np.random.default_rng(seed)
    request = pd.DataFrame({"id": [f"s{i}" for i in range(n)],
                            "sequence": ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]})  # fmt: skip
    return get_task("dna_classify"), SequenceModel(**hp).eval(), bundle, request


def vitals_case(n: int, hours: int = 48, seed: int = 0):
    params = _model_params("vitals_mortality")
    names = feature_names(P2012_FEATURES, CHANNELS)
    hp = {"task_kind": "sequence", "n_classes": 1, "input_kind": "features", "input_size": len(names),
          **{k: params[k] for k in ("cell", "hidden_size", "num_layers", "bidirectional") if k in params}}  # fmt: skip
    bundle = {"task": "vitals_mortality", "hparams": hp, "class_names": ["negative", "positive"],
              "preprocessing": {"kind": "vitals", "variables": list(P2012_FEATURES), "feature_names": names,
                                "channels": list(CHANNELS), "times": "observed", "max_hours": 48, "step_hours": None,
                                "normalisation": {"mean": [0.0] * len(P2012_FEATURES), "std": [1.0] * len(P2012_FEATURES)}}}  # fmt: skip
    rng = np.random.default_rng(seed)
    centre = {"HR": 85.0, "MAP": 80.0, "Temp": 37.0, "RespRate": 18.0, "GCS": 10.0, "Urine": 80.0}
    rows = [(f"p{p}", float(h), v, round(c + rng.normal(0, 0.5), 1)) for p in range(n) for h in range(1, hours + 1)
            for v, c in centre.items()]  # fmt: skip
    request = pd.DataFrame(rows, columns=["patient_id", "time", "variable", "value"])
    return get_task("vitals_mortality"), SequenceModel(**hp).eval(), bundle, request


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sequences", type=int, default=100)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--patients", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    task, model, bundle, request = dna_case(args.sequences, args.length)
    predict = timed(lambda: task.predict_request(model, bundle, request, {}))
    explain = timed(lambda: task.explain(model, bundle, request, {"max_plots": 0, "device": "cpu"}))
    rows.append((f"{args.sequences} sequences x {args.length} bp", "ISM (4 x L) + grad x input", predict, explain))
    task, model, bundle, request = vitals_case(args.patients)
    predict = timed(lambda: task.predict_request(model, bundle, request, {}))
    explain = timed(lambda: task.explain(model, bundle, request, {"max_plots": 0, "device": "cpu"}))
    rows.append((f"{args.patients} patients x 48 h", "integrated gradients (64 points)", predict, explain))
    table = pd.DataFrame(rows, columns=["input", "explanation", "predict_s", "explain_s"])
    table["explain_per_unit_s"] = table["explain_s"] / [args.sequences, args.patients]
    table["explain / predict"] = table["explain_s"] / table["predict_s"]
    print(f"CPU, {args.threads} thread(s), torch {torch.__version__}")  # noqa: T201 - a benchmark reports on stdout
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))  # noqa: T201


if __name__ == "__main__":
    main()
