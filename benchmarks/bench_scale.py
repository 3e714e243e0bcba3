"""Cost growth of PhysioNet 2019 ingest with cohort size (issue 21).

For 500 / 1,000 / 2,000 / 5,771 patients of the shared large sample (``shared/data/
physionet2019_sepsis_large``; skipped, exit 0, without it) each measurement runs in a fresh
subprocess, so its peak RSS is its own:

* ``ingest``: ``read_2019_directory`` + ``validate_2019`` + the sepsis task's
  ``build_model_input`` (normalised GRU-D features, splits): everything from files to model input;
* ``plain read``: the same files read by Polars into one typed frame and nothing else (the
  columnar floor ingest is compared with).

Printed: a table (seconds, rows/s, peak RSS), the fitted growth per patient (least squares over
the sizes) and a line extrapolating to 40,000 patients (the full PhysioNet 2019 training set).
Exits 1 when, at the largest size, ingest takes more than ``--max-ratio`` (2.0) times the plain
read measured in the same run. The ratio is of CPU seconds (all threads of the subprocess, best
of ``--repeats`` alternated rounds): on shared CI cores other jobs' slices land in wall time at
random; wall seconds are printed too.

    python benchmarks/bench_scale.py [--sizes 500 1000 2000 5771] [--repeats 1] [--max-ratio 2.0]
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

SHARED_DATA = Path(
    os.environ.get(
        "SEQHEALTH_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    )
)
LARGE_2019 = SHARED_DATA / "physionet2019_sepsis_large"
PARAMS = {"split": {"train": 0.7, "val": 0.15, "test": 0.15}, "seed": 42}
EXTRAPOLATE_TO = 40_000


def report(line: str) -> None:
    """The table is this script's output (stdout), not logging."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------------ one measurement (child)
def _measure(kind: str, folder: Path) -> dict:
    import resource
    import time

    from seqhealth.vitals.readers import data_files

    paths, _ = data_files(folder, ".psv")
    if kind == "plain":
        import polars as pl

        def run() -> dict:
            frame = pl.scan_csv([str(p) for p in paths], separator="|", glob=False).collect()
            return {"rows": frame.height}
    else:
        from seqhealth.tasks.vitals_sepsis import TASK
        from seqhealth.vitals.readers import read_2019_directory
        from seqhealth.vitals.validation_2019 import validate_2019

        def run() -> dict:
            wide = read_2019_directory(folder)
            clean, labels, _quarantine, report_ = validate_2019(wide)
            model_input = TASK.build_model_input(clean, labels, PARAMS)
            return {"rows": len(wide), "records_kept": report_["records_kept"],
                    "samples": sum(len(s) for s in model_input["splits"].values())}  # fmt: skip

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = time.perf_counter(), time.process_time()
    out = run()
    out.update(wall_s=time.perf_counter() - wall, cpu_s=time.process_time() - cpu, rss_before_mb=rss_before,
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # fmt: skip
    return out


def measure(kind: str, folder: Path) -> dict:
    """``_measure`` in a fresh interpreter (its own peak RSS)."""
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(folder)], capture_output=True,
                          text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{kind} measurement of {folder} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------ driver
def subset(paths: list[Path], n: int, root: Path) -> Path:
    """A folder of symlinks to the first ``n`` files (the data is never copied)."""
    folder = root / f"n{n}"
    folder.mkdir()
    for path in paths[:n]:
        (folder / path.name).symlink_to(path.resolve())
    return folder


def fit(sizes, values) -> tuple[float, float]:
    """Least-squares ``value = intercept + slope * patients``."""
    slope, intercept = np.polyfit(np.asarray(sizes, float), np.asarray(values, float), 1)
    return float(intercept), float(slope)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 5771])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--max-ratio", type=float, default=2.0)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        report(json.dumps(_measure(args.child[0], Path(args.child[1]))))
        return 0
    if not LARGE_2019.is_dir():
        report(f"skipped: {LARGE_2019} not present")
        return 0
    from seqhealth.vitals.readers import data_files

    paths, _ = data_files(LARGE_2019, ".psv")
    sizes = sorted({min(n, len(paths)) for n in args.sizes})
    report(
        f"PhysioNet 2019 ingest (read + validate + model input) vs a plain Polars read, {os.cpu_count()} CPUs"
    )
    header = (f"{'patients':>8} {'rows':>8} | {'ingest cpu s':>12} {'wall s':>7} {'rows/s':>8} {'peak MB':>8} | "
              f"{'plain cpu s':>11} {'wall s':>7} {'peak MB':>8} | {'ratio cpu':>9} {'wall':>5}")  # fmt: skip
    report(header)
    report("-" * len(header))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        for n in sizes:
            folder = subset(paths, n, Path(tmp))
            runs: dict = {"plain": [], "ingest": []}
            for _ in range(args.repeats):  # alternated: both see the same background load
                for kind in runs:
                    runs[kind].append(measure(kind, folder))
            plain = min(runs["plain"], key=lambda r: r["cpu_s"])
            ingest = min(runs["ingest"], key=lambda r: r["cpu_s"])
            ratio, wall_ratio = ingest["cpu_s"] / plain["cpu_s"], ingest["wall_s"] / plain["wall_s"]
            rows.append({"n": n, "ingest": ingest, "plain": plain, "ratio": ratio})
            report(f"{n:>8} {ingest['rows']:>8} | {ingest['cpu_s']:>12.2f} {ingest['wall_s']:>7.2f} "
                   f"{ingest['rows'] / ingest['wall_s']:>8.0f} {ingest['peak_rss_mb']:>8.0f} | {plain['cpu_s']:>11.2f} "
                   f"{plain['wall_s']:>7.2f} {plain['peak_rss_mb']:>8.0f} | {ratio:>9.2f} {wall_ratio:>5.2f}")  # fmt: skip
    ns = [r["n"] for r in rows]
    last = rows[-1]
    if len(rows) >= 2:
        t0, t1 = fit(ns, [r["ingest"]["wall_s"] for r in rows])
        m0, m1 = fit(ns, [r["ingest"]["peak_rss_mb"] for r in rows])
        r1 = fit(ns, [r["ingest"]["rows"] for r in rows])[1]
        report(f"growth: {t1 * 1000:.2f} ms/patient (+{t0:.2f} s fixed), {m1:.3f} MB/patient (+{m0:.0f} MB fixed), "
               f"{r1:.1f} rows/patient")  # fmt: skip
        report(f"extrapolated to {EXTRAPOLATE_TO:,} patients (~{r1 * EXTRAPOLATE_TO / 1e6:.2f} M rows): "
               f"{t0 + t1 * EXTRAPOLATE_TO:.0f} s wall, {(m0 + m1 * EXTRAPOLATE_TO) / 1024:.1f} GB peak RSS")  # fmt: skip
    rows_per_s = last["ingest"]["rows"] / last["ingest"]["wall_s"]
    report(f"at {last['n']} patients: ingest/plain read = {last['ratio']:.2f}x CPU (target <= {args.max_ratio}), "
           f"{rows_per_s:,.0f} rows/s wall (target >= 50,000 on 2 cores; wall time depends on the machine's load)")  # fmt: skip
    if last["ratio"] > args.max_ratio:
        report(f"FAIL: ratio {last['ratio']:.2f} > {args.max_ratio}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
