"""Gene finding side by side with Prodigal (pyrodigal), on the shared E. coli slice.

``dna_coding`` is trained with its DEFAULT parameters (``conf/base/parameters_*.yml``) through the
task's own code (read, ingest, model input, fit, calibrate), then calls genes on the whole record;
pyrodigal runs in its normal self-training mode (``GeneFinder().train`` + ``find_genes``) on the
same record. Both sets of calls are scored by the SAME code (``genomics.gene_metrics``) on the
SAME held-out loci (the task's test split): per-base MCC of the covered track, 3'-end (stop) and
exact start+stop sensitivity/precision; plus wall time and bases/s of each, the training
throughput of ``dna_coding`` (bases/s and seconds per epoch: steady or growing?) and its
inference throughput on a whole record (network + decoding).

Wall time and process CPU time are both reported: on a shared machine the wall clock counts other
jobs' time, so the inference target is checked on CPU time (all threads), what a dedicated
machine would take.

Targets (issue 18), the exit status: per-base MCC >= 0.85, 3'-end sensitivity >= 0.95, inference
>= 100,000 bases per CPU second. pyrodigal's figures are printed beside ours with the ratio of each
(>= 1.0: we match or beat it on these loci); the ratios are reported, not gated (40 test genes: one
gene moves a sensitivity by 0.025). Exits 1 when a target is missed, 0 with a skip message when the
shared data is absent.

Run: python benchmarks/bench_gene_finding.py [--threads 2] [--genome PATH] [--train-folder]
(``--train-folder`` trains on every record of the genome's folder, the locus split inside each.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GENOME = ROOT.parent / "shared" / "data" / "genome_cds" / "NC_000913.3_0_300000.gbk"
TARGETS = {"mcc": 0.85, "stop_sensitivity": 0.95, "inference_bases_per_s": 100_000}
COMPARED = ("per_base_mcc", "stop_sensitivity", "stop_precision", "exact_sensitivity", "exact_precision")


def _out(text: str) -> None:
    print(text)  # noqa: T201 - a benchmark reports on stdout


class EpochTimer(pl.Callback):
    def __init__(self) -> None:
        self.seconds: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def _parameters() -> tuple[dict, dict]:
    base = ROOT / "conf" / "base"
    task = yaml.safe_load((base / "parameters_dna_coding.yml").read_text())["dna_coding"]
    shared = yaml.safe_load((base / "parameters_train.yml").read_text())["train"]
    return task, shared


def train_dna_coding(path: Path, checkpoint_dir: Path):
    """The task's default training on ``path``: ``(task, model_input, bundle, timing)``."""
    import seqhealth.engine.fit as fit
    from seqhealth.tasks.dna_coding import TASK

    params, shared = _parameters()
    records = TASK.ingest(TASK.read_raw(path), params)["records"]
    model_input = TASK.build_model_input(records, params[TASK.params_key])
    train_cfg = {**fit.resolve_train_config(shared, params.get("train")), "enable_progress_bar": False,
                 "checkpoint_dir": str(checkpoint_dir), "accelerator": "cpu", "devices": 1}  # fmt: skip
    timer, build = EpochTimer(), fit.build_trainer
    fit.build_trainer = lambda cfg, callbacks=(), **kw: build(
        cfg, callbacks=[*callbacks, timer], **kw
    )
    try:
        start, cpu = time.perf_counter(), time.process_time()
        bundle, history = fit.fit_sequence_model(
            model_input, params["model"], {**train_cfg, "_resume_from": None}
        )
        train_s, train_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    finally:
        fit.build_trainer = build
    bundle = TASK.calibrate(bundle, model_input)
    train_bases = sum(int(s["length"]) for s in model_input["splits"]["train"])
    timing = {"train_s": train_s, "train_cpu_s": train_cpu_s, "epochs": len(timer.seconds), "epoch_s": timer.seconds,
              "intra_op_threads": train_cfg.get("intra_op_threads"),
              "train_bases_per_s": train_bases * len(timer.seconds) / max(sum(timer.seconds), 1e-9)}  # fmt: skip
    return TASK, model_input, bundle, timing


def model_calls(bundle: dict, genome: dict) -> tuple[dict, float, float]:
    """Calls of the trained model on one whole record (network + decoding) and the seconds taken."""
    from seqhealth.engine.fit import load_model
    from seqhealth.genomics.gene_calls import call_genes
    from seqhealth.genomics.gene_finder import decoder_with
    from seqhealth.tasks.dna_coding import record_probabilities

    model = load_model(bundle)
    start, cpu = time.perf_counter(), time.process_time()
    prob = record_probabilities(model, bundle["preprocessing"], [genome["tokens"]])[0]
    gene_model = bundle["preprocessing"].get("gene_model")
    calls = call_genes(
        genome["tokens"],
        prob,
        decoder_with(gene_model, bundle["preprocessing"]["decoder"]),
        gene_model,
    )
    return calls, time.perf_counter() - start, time.process_time() - cpu


def pyrodigal_calls(sequence: str) -> tuple[dict, float, float]:
    import pyrodigal

    start, cpu = time.perf_counter(), time.process_time()
    finder = pyrodigal.GeneFinder()
    finder.train(sequence)
    genes = finder.find_genes(sequence)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    calls = {"begin": np.array([g.begin - 1 for g in genes], dtype=np.int64),
             "end": np.array([g.end for g in genes], dtype=np.int64),
             "strand": np.array([g.strand for g in genes], dtype=np.int64)}  # fmt: skip
    return calls, seconds, cpu_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--genome", type=Path, default=DEFAULT_GENOME)
    parser.add_argument(
        "--train-folder", action="store_true", help="train on every record of the genome's folder"
    )
    args = parser.parse_args()
    if not args.genome.exists():
        _out(f"SKIP: shared genome not present at {args.genome} (fresh clone)")
        return 0
    try:
        import pyrodigal  # noqa: F401
    except ImportError:
        _out("SKIP: pyrodigal is not installed (pip install -e '.[dev]')")
        return 0
    import tempfile

    from seqhealth.genomics.gene_metrics import gene_level_metrics

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        task, model_input, bundle, timing = train_dna_coding(
            args.genome.parent if args.train_folder else args.genome, Path(tmp)
        )
    metrics, _, _ = task.evaluate(bundle, model_input, [])
    loci = [(b["record_id"], b["start"], b["end"]) for b in model_input["layouts"]["test"]]
    from seqhealth.genomics.readers import read_sequence_records

    target_ids = set(read_sequence_records(args.genome)["record_id"])
    loci = [
        locus for locus in loci if locus[0] in target_ids
    ]  # scored on the benchmark genome only
    genomes = model_input["genomes"]
    rows, seconds, cpu, n_bases = {}, {}, {}, 0
    ours, theirs = {}, {}
    for record_id in sorted({locus[0] for locus in loci}):
        genome = genomes[record_id]
        ours[record_id], s_ours, cpu_ours = model_calls(bundle, genome)
        sequence = "".join(
            "ACGTN"[t - 1] if 1 <= t <= 5 else "N" for t in genome["tokens"].tolist()
        )
        theirs[record_id], s_theirs, cpu_theirs = pyrodigal_calls(sequence)
        seconds["dna_coding"] = seconds.get("dna_coding", 0.0) + s_ours
        seconds["pyrodigal"] = seconds.get("pyrodigal", 0.0) + s_theirs
        cpu["dna_coding"] = cpu.get("dna_coding", 0.0) + cpu_ours
        cpu["pyrodigal"] = cpu.get("pyrodigal", 0.0) + cpu_theirs
        n_bases += genome["length"]
    rows["dna_coding"] = gene_level_metrics(genomes, ours, loci)
    rows["pyrodigal"] = gene_level_metrics(genomes, theirs, loci)
    _out(f"genome {args.genome.name}: {n_bases:,} bases; held-out loci {len(loci)} "
          f"({sum(e - s for _, s, e in loci):,} bases); torch threads {args.threads}, dna_coding's own: "
          f"training {timing['intra_op_threads']}, inference {bundle['preprocessing'].get('inference_threads')}")  # fmt: skip
    header = (
        "finder",
        "MCC/base",
        "stop sens",
        "stop prec",
        "exact sens",
        "exact prec",
        "calls",
        "wall s",
        "bases/s",
        "CPU s",
        "bases/CPU s",
    )
    _out("  ".join(f"{h:>10}" for h in header))
    for name, m in rows.items():
        cells = [name, m["per_base_mcc"], m["stop_sensitivity"], m["stop_precision"], m["exact_sensitivity"],
                 m["exact_precision"], m["n_called"], seconds[name], n_bases / seconds[name], cpu[name],
                 n_bases / max(cpu[name], 1e-9)]  # fmt: skip
        _out("  ".join(f"{c:>10.3f}" if isinstance(c, float) else f"{c:>10}" for c in cells))
    _out(f"annotated genes with their 3' end in the loci: {rows['pyrodigal']['n_annotated']}")
    _out(f"dna_coding raw per-base probabilities (no decoding): MCC {metrics['test']['mcc']:.3f}, "
          f"AUROC {metrics['test']['auroc']:.3f}; decoder without the network: "
          f"MCC {metrics['gene_calls']['anchor']['per_base_mcc']:.3f}, stop sens {metrics['gene_calls']['anchor']['stop_sensitivity']:.3f}")  # fmt: skip
    epochs = np.asarray(timing["epoch_s"])
    _out(f"training: {timing['train_s']:.1f} s, {timing['epochs']} epochs, {timing['train_bases_per_s']:,.0f} train "
          f"bases/s; epoch s first {epochs[0]:.1f} median {np.median(epochs):.1f} max {epochs.max():.1f} last {epochs[-1]:.1f}")  # fmt: skip
    _out(f"training CPU: {timing['train_cpu_s']:.1f} s, "
         f"{timing['train_bases_per_s'] * sum(timing['epoch_s']) / max(timing['train_cpu_s'], 1e-9):,.0f} train bases per CPU s")  # fmt: skip
    # On a shared machine the wall clock counts other jobs' time; the process's CPU time (all its
    # threads) is what a dedicated machine would take, so the speed target is checked on it.
    inference = n_bases / max(cpu["dna_coding"], 1e-9)
    checks = [
        ("per-base MCC", rows["dna_coding"]["per_base_mcc"], TARGETS["mcc"]),
        ("3'-end sensitivity", rows["dna_coding"]["stop_sensitivity"], TARGETS["stop_sensitivity"]),
        ("inference bases per CPU s", inference, TARGETS["inference_bases_per_s"]),
    ]
    for key in COMPARED:
        ours, theirs = rows["dna_coding"][key], rows["pyrodigal"][key]
        ratio = ours / max(theirs, 1e-9)
        verdict = "matches or beats" if ratio >= 1.0 else "below"
        _out(f"vs pyrodigal {key}: {ours:.3f} vs {theirs:.3f}, ratio {ratio:.3f} ({verdict} pyrodigal)")
    missed = [name for name, value, target in checks if not value >= target]
    for name, value, target in checks:
        _out(f"{'ok  ' if value >= target else 'MISS'} {name}: {value:,.3f} (target >= {target:,})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
