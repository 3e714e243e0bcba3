"""PhysioNet 2012 partitioned Parquet cache: first run vs cached rerun (issue 21).

On a 2012 folder (default the shared 4,000-stay set A; skipped, exit 0, without it) each
measurement runs in a fresh subprocess, so its peak RSS is its own (the interpreter with the
task's imports is part of every peak):

* ``uncached``: ``validate_2012(read_2012_directory(folder))`` as without ``prepared_cache``;
* ``first``: ``prepare_2012`` into an empty cache folder (read + validate partition by partition,
  Parquet written);
* ``rerun``: ``prepare_2012`` with the cache ``first`` left (unchanged inputs: every partition read
  back from Parquet).

Each is followed by the mortality task's ``build_model_input`` (what ``kedro run`` does next); the
table gives the preparation's CPU and wall seconds, the total with the model input, and the peak RSS.
Best of ``--repeats`` rounds (CPU seconds; 2 shared cores put other jobs' slices in wall time).

    python benchmarks/bench_2012_cache.py [--folder DIR] [--repeats 2] [--patients-per-partition 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from child_measure import measure_in_child

SHARED_DATA = Path(
    os.environ.get("SEQHEALTH_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
)
SET_A = SHARED_DATA / "physionet2012_set_a"
PARAMS = {"split": {"train": 0.7, "val": 0.15, "test": 0.15}, "seed": 42}


def _measure(kind: str, folder: Path, cache: Path, per_partition: int) -> dict:
    import resource
    import time

    from seqhealth.tasks.vitals_mortality import TASK
    from seqhealth.vitals.partitions import StayFolder, prepare_2012
    from seqhealth.vitals.readers import read_2012_directory
    from seqhealth.vitals.validation import validate_2012

    wall, cpu = time.perf_counter(), time.process_time()
    if kind == "uncached":
        clean, labels, _quarantine, report = validate_2012(read_2012_directory(folder))
        parts = {}
    else:
        prepared = prepare_2012(StayFolder(folder, cache, per_partition, "physionet2012"))
        clean, labels, report = prepared.observations, prepared.labels, prepared.report
        parts = {"recomputed": len(prepared.recomputed), "reused": len(prepared.reused)}
    prep_wall, prep_cpu = time.perf_counter() - wall, time.process_time() - cpu
    model_input = TASK.build_model_input(clean, labels, PARAMS)
    return {"patients": report["patients_in"], "kept": report["records_kept"],
            "quarantined": report["records_quarantined"], "fingerprint": json.dumps(model_input["fingerprint"], sort_keys=True, default=str),
            "prep_cpu_s": prep_cpu, "prep_wall_s": prep_wall, "cpu_s": time.process_time() - cpu,
            "wall_s": time.perf_counter() - wall,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **parts}  # fmt: skip


def measure(kind: str, folder: Path, cache: Path, per_partition: int) -> dict:
    """``_measure`` in a fresh interpreter (its own peak RSS)."""
    return measure_in_child(__file__, kind, folder, cache, per_partition)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=SET_A)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--patients-per-partition", type=int, default=1000)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, folder, cache, per_partition = args.child
        sys.stdout.write(json.dumps(_measure(kind, Path(folder), Path(cache), int(per_partition))) + "\n")
        return 0
    if not args.folder.is_dir():
        sys.stdout.write(f"skipped: {args.folder} not present\n")
        return 0
    best: dict[str, dict] = {}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            cache = Path(tmp) / "prepared"
            for kind in ("uncached", "first", "rerun"):
                row = measure(kind, args.folder, cache, args.patients_per_partition)
                if kind not in best or row["cpu_s"] < best[kind]["cpu_s"]:
                    best[kind] = row
    if len({(r["kept"], r["quarantined"], r["fingerprint"]) for r in best.values()}) != 1:
        sys.stdout.write("MISMATCH: the runs disagree on kept/quarantined records or model input\n")
        return 1
    sys.stdout.write("| run | partitions recomputed/reused | prep CPU s | prep wall s | total CPU s | "
                     "total wall s | peak RSS MB |\n|---|---|---|---|---|---|---|\n")  # fmt: skip
    for kind, r in best.items():
        parts = f"{r['recomputed']}/{r['reused']}" if "recomputed" in r else "-"
        sys.stdout.write(f"| {kind} | {parts} | {r['prep_cpu_s']:.2f} | {r['prep_wall_s']:.2f} | {r['cpu_s']:.2f} | "
                         f"{r['wall_s']:.2f} | {r['peak_rss_mb']:,.0f} |\n")  # fmt: skip
    r = best["uncached"]
    sys.stdout.write(f"{r['patients']:,} patients, {r['kept']:,} observations kept, {r['quarantined']:,} quarantined, "
                     f"same model input fingerprint in every run\n")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
