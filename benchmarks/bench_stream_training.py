"""Peak memory of one training epoch over an on-disk Arrow store vs the in-memory list (issue 21.3).

For each cohort size (``--sizes-mb``: megabytes of float32 model input) a synthetic vitals-like
cohort is made (sequences of 24-336 hourly steps x ``--features`` features, one binary label
each, the same samples every run), and three measurements each run in a fresh subprocess so
that its peak RSS (``ru_maxrss``) is its own:

* ``write``: ``write_arrow_store`` from a generator (the writer holds one record batch);
* ``store``: one Lightning epoch (a 1-layer GRU, ``SequenceModel``) over ``ArrowSequenceDataset``
  (items read from the file one by one);
* ``memory``: the same epoch over the same samples held as a list (``SequenceDataset``, what
  ``model_input.pkl`` gives today).

RSS growth is the peak minus the RSS after imports and the model were built (before any data);
"over ref" is the peak minus the same measurement's peak on a ``--reference-mb`` (1 MB) cohort,
which removes the fixed costs (Lightning's loops, pyarrow's first use) and leaves what grows with
the cohort. Printed: a table of store size, seconds, peak RSS and growth per measurement, and the
train loss of both epochs (they must be equal: same samples, same order, same initial weights).
Exits 1 when, at a size, the store epoch's peak RSS over its reference run exceeds
``--max-growth-ratio`` (0.1) of the store size, or the two losses differ.

    python benchmarks/bench_stream_training.py [--sizes-mb 100 400] [--features 40]
        [--reference-mb 1] [--max-growth-ratio 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SEED = 7
N_VAL = 256


def report(line: str) -> None:
    """The table is this script's output (stdout), not logging."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def cohort(n: int, features: int, offset: int = 0):
    """``n`` deterministic samples, generated one at a time (the generator holds one)."""
    for i in range(offset, offset + n):
        rng = np.random.default_rng(SEED + i)
        length = 24 + (i * 7919) % 313
        x = rng.standard_normal((length, features), dtype=np.float32)
        yield {"x": x, "y": int(x[:, 0].mean() > 0), "length": length}


def n_samples(size_mb: float, features: int) -> int:
    mean_length = 24 + 312 / 2
    return max(1, int(size_mb * 2**20 / (mean_length * features * 4)))


# ------------------------------------------------------------------------ one measurement (child)
def _vm_rss_mb() -> float:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) / 1024 for line in handle if line.startswith("VmRSS:"))


def _measure(kind: str, size_mb: float, features: int, folder: Path) -> dict:
    import resource
    import time

    import lightning.pytorch as pl
    import torch

    from seqhealth.batching import ArrowSequenceDataset, SequenceDataset, write_arrow_store
    from seqhealth.batching.datamodule import SequenceDataModule
    from seqhealth.models.module import SequenceModel
    from seqhealth.models.training import build_trainer

    torch.set_num_threads(1)
    n = n_samples(size_mb, features)
    pl.seed_everything(SEED, verbose=False)  # the same initial weights in every child
    model = SequenceModel(task_kind="sequence", n_classes=1, input_kind="features", input_size=features,
                          cell="gru", hidden_size=16, num_layers=1, bidirectional=False, dropout=0.0)
    baseline = _vm_rss_mb()
    start = time.perf_counter()
    result: dict = {}
    if kind == "write":
        write_arrow_store(cohort(n, features), folder / "train.arrow", batch_rows=256)
        write_arrow_store(cohort(N_VAL, features, offset=n), folder / "val.arrow")
        result["store_mb"] = (folder / "train.arrow").stat().st_size / 2**20
    else:
        if kind == "store":
            train, val = ArrowSequenceDataset(folder / "train.arrow"), ArrowSequenceDataset(folder / "val.arrow")
        else:  # the samples in memory, as a model_input.pkl loads them
            train = SequenceDataset(list(cohort(n, features)))
            val = SequenceDataset(list(cohort(N_VAL, features, offset=n)))
        datamodule = SequenceDataModule(train, val, batch_size=64, seed=SEED)
        trainer = build_trainer({"accelerator": "cpu", "devices": 1, "max_epochs": 1, "early_stopping_patience": 0,
                                 "enable_progress_bar": False}, default_root_dir=str(folder / f"ckpt_{kind}"))
        trainer.fit(model, datamodule=datamodule)
        result["train_loss"] = float(trainer.callback_metrics["train_loss"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {**result, "kind": kind, "n": n, "seconds": time.perf_counter() - start,
            "baseline_mb": baseline, "peak_mb": peak, "growth_mb": peak - baseline}


def _child(kind: str, size_mb: float, features: int, folder: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, __file__, "--child", kind, "--size-mb", str(size_mb),
               "--features", str(features), "--folder", str(folder)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{kind} at {size_mb} MB failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=[100, 400])
    parser.add_argument("--reference-mb", type=float, default=1.0)
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument("--max-growth-ratio", type=float, default=0.1)
    parser.add_argument("--child", choices=["write", "store", "memory"])
    parser.add_argument("--size-mb", type=float)
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    if args.child:
        report(json.dumps(_measure(args.child, args.size_mb, args.features, args.folder)))
        return 0

    report(f"{'size MB':>8} {'samples':>8} {'run':>7} {'seconds':>8} {'base MB':>8} {'peak MB':>8} "
           f"{'growth MB':>9} {'over ref':>8} {'/ size':>7} {'train loss':>10}")
    failures, reference = [], {}
    for size_mb in [args.reference_mb, *args.sizes_mb]:
        with tempfile.TemporaryDirectory(prefix="seqhealth-stream-") as tmp:
            rows = {kind: _child(kind, size_mb, args.features, Path(tmp)) for kind in ("write", "store", "memory")}
        store_mb = rows["write"]["store_mb"]
        reference = reference or {kind: row["peak_mb"] for kind, row in rows.items()}
        for kind, row in rows.items():
            row["over_ref"] = row["peak_mb"] - reference[kind]
            loss = f"{row['train_loss']:.6f}" if "train_loss" in row else ""
            report(f"{store_mb:8.0f} {row['n']:8d} {kind:>7} {row['seconds']:8.1f} {row['baseline_mb']:8.0f} "
                   f"{row['peak_mb']:8.0f} {row['growth_mb']:9.0f} {row['over_ref']:8.0f} "
                   f"{row['over_ref'] / store_mb:7.2f} {loss:>10}")
        if rows["store"]["train_loss"] != rows["memory"]["train_loss"]:
            failures.append(f"{store_mb:.0f} MB: train loss {rows['store']['train_loss']} (store) != "
                            f"{rows['memory']['train_loss']} (memory)")
        if size_mb == args.reference_mb:
            continue
        ratio = rows["store"]["over_ref"] / store_mb
        if ratio > args.max_growth_ratio:
            failures.append(f"{store_mb:.0f} MB store: peak RSS above the {args.reference_mb:g} MB run "
                            f"is {ratio:.2f} x the store > {args.max_growth_ratio}")
        report(f"{'':8} {store_mb:.0f} MB: epoch peak RSS over the store {rows['store']['peak_mb']:.0f} MB, "
               f"over the in-memory list {rows['memory']['peak_mb']:.0f} MB "
               f"(ratio {rows['store']['peak_mb'] / rows['memory']['peak_mb']:.2f})")
    for failure in failures:
        report(f"FAIL {failure}")
    if not failures:
        report(f"OK: an epoch over a store grows peak RSS by <= {args.max_growth_ratio} x the store size "
               f"(beyond the {args.reference_mb:g} MB run); losses of store and list equal")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
