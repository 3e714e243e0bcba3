"""Padding efficiency (real tokens / padded slots) of BucketBatchSampler vs random batches.

Length distributions: the real development data in ../shared/data (PhysioNet 2019 rows per
patient, PhysioNet 2012 distinct timestamps per patient and the hourly steps per patient that the
mortality model uses (``step_hours: 1``), ls_orchid sequence lengths; E. coli
windows are fixed length and skipped) and synthetic lognormal demo-like lengths. Lengths are
read by counting lines, so this does not depend on the ingestion packages.

Run: python benchmarks/bench_batching.py   (exit 1 if token-budget bucketing misses 0.95 anywhere)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from torch.utils.data import BatchSampler, RandomSampler

from seqhealth.batching.sampler import BucketBatchSampler

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
TARGET = 0.95
BATCH_SIZE = 32


def physionet2019_lengths() -> np.ndarray:
    files = sorted((DATA / "physionet2019_sepsis").rglob("*.psv"))
    # rows per patient = lines minus the header
    return np.array([sum(1 for _ in f.open()) - 1 for f in files])


def physionet2012_lengths() -> np.ndarray:
    lengths = []
    for f in sorted((DATA / "physionet2012_mortality" / "set-a").glob("*.txt")):
        times = {line.split(",", 1)[0] for line in f.read_text().splitlines()[1:]}
        times.discard("00:00")  # descriptors; a model's time axis starts after them
        lengths.append(max(len(times), 1))
    return np.array(lengths)


def physionet2012_hourly_lengths(max_hours: int = 48) -> np.ndarray:
    """Steps per stay on the mortality task's grid: t=0 (descriptors) plus every hour
    ceil(t) <= ``max_hours`` in which anything was charted."""
    lengths = []
    for f in sorted((DATA / "physionet2012_mortality" / "set-a").glob("*.txt")):
        hours = set()
        for line in f.read_text().splitlines()[1:]:
            hh, mm = line.split(",", 1)[0].split(":")
            t = int(hh) + int(mm) / 60
            if t <= max_hours:
                hours.add(int(np.ceil(t)))
        lengths.append(max(len(hours), 1))
    return np.array(lengths)


def orchid_lengths() -> np.ndarray:
    lengths, current = [], None
    for line in (DATA / "ls_orchid" / "ls_orchid.fasta").read_text().splitlines():
        if line.startswith(">"):
            if current is not None:
                lengths.append(current)
            current = 0
        elif current is not None:
            current += len(line.strip())
    if current is not None:
        lengths.append(current)
    return np.array(lengths)


def efficiency(lengths: np.ndarray, batches) -> float:
    batches = [np.asarray(b) for b in batches]
    padded = sum(int(lengths[b].max()) * len(b) for b in batches)
    return float(sum(int(lengths[b].sum()) for b in batches) / padded)


def _epoch(sampler, epoch):
    sampler.set_epoch(epoch)
    return list(sampler)


def compare(name: str, lengths: np.ndarray, batch_size: int, tokens_per_median: int) -> dict:
    """Mean efficiency over 3 epochs of: random batches, bucketed fixed-size batches, the
    fixed-size ceiling (whole set sorted: no sampler with that batch size pads less) and
    bucketed token-budget batches (budget = ``tokens_per_median`` x median length)."""
    max_tokens = tokens_per_median * int(np.median(lengths))
    fixed = BucketBatchSampler(lengths, batch_size=batch_size, pool_size_batches=50, seed=0)
    budget = BucketBatchSampler(lengths, max_tokens=max_tokens, pool_size_batches=50, seed=0)
    ceiling = BucketBatchSampler(lengths, batch_size=batch_size, shuffle=False)
    random_batches = BatchSampler(RandomSampler(range(len(lengths))), batch_size, False)
    return {
        "name": name, "n": len(lengths), "median": int(np.median(lengths)),
        "random": np.mean([efficiency(lengths, list(random_batches)) for _ in range(3)]),
        "bucket_fixed": np.mean([efficiency(lengths, _epoch(fixed, e)) for e in range(3)]),
        "ceiling_fixed": efficiency(lengths, list(ceiling)),
        "bucket_tokens": np.mean([efficiency(lengths, _epoch(budget, e)) for e in range(3)]),
        "batch_size": batch_size, "max_tokens": max_tokens,
        "mean_batch_tokens_mode": len(lengths) / len(budget),
    }


def main() -> int:
    rows = []
    if DATA.is_dir():
        rows.append(compare("physionet2019 rows/patient", physionet2019_lengths(), 32, 16))
        rows.append(compare("physionet2012 timestamps/patient", physionet2012_lengths(), 32, 16))
        rows.append(compare("physionet2012 hourly steps/patient", physionet2012_hourly_lengths(), 16, 16))
        # 30 records only: small batches so that batching matters at all.
        rows.append(compare("ls_orchid bp", orchid_lengths(), 4, 4))
    else:
        print(f"shared data not found at {DATA}: real distributions skipped")  # noqa: T201
    rng = np.random.default_rng(0)
    demo = np.clip(rng.lognormal(mean=np.log(40), sigma=0.6, size=5000), 8, 400).astype(int)
    rows.append(compare("synthetic lognormal", demo, 32, 16))
    print(f"{'distribution':33s} {'n':>5s} {'median':>6s} | {'bs':>3s} {'random':>7s} "  # noqa: T201
          f"{'bucket':>7s} {'ceiling':>7s} | {'tokens':>6s} {'~n/b':>5s} {'bucket':>7s}")
    missed = False
    for r in rows:
        flag = "" if r["bucket_tokens"] >= TARGET else "  <-- below target"
        missed |= r["bucket_tokens"] < TARGET
        print(f"{r['name']:33s} {r['n']:5d} {r['median']:6d} | {r['batch_size']:3d} "  # noqa: T201
              f"{r['random']:7.3f} {r['bucket_fixed']:7.3f} {r['ceiling_fixed']:7.3f} | "
              f"{r['max_tokens']:6d} {r['mean_batch_tokens_mode']:5.1f} "
              f"{r['bucket_tokens']:7.3f}{flag}")
    print(f"efficiency = real tokens / padded slots; target: token-budget bucketing >= {TARGET}. "  # noqa: T201
          "'ceiling' = whole set sorted by length with the same fixed batch size (no sampler "
          "with that batch size can pad less; small sets with long tails cannot reach 0.95 with "
          "fixed batches).")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
