"""Peak RSS of building the vitals_sepsis model input and training one epoch: in memory vs
streamed partition by partition into Arrow stores (issue 21, point 3).

    python benchmarks/bench_stored_model_input.py --sizes 1000 5771 \
        --data /work/shared/data/physionet2019_sepsis_large/training_setB

For each size, a folder of symlinks to the first N ``.psv`` files (as ``bench_scale.py`` makes
its subsets) is prepared once into a partitioned cache (not measured). Then, each in a fresh
interpreter (its own peak RSS):

* ``memory``: the prepared cohort read back (``prepare_2019``, every partition reused), the
  in-memory ``build_model_input`` and one epoch over the sample lists;
* ``store``: ``build_stored_model_input`` (partition by partition into Arrow stores) and one epoch
  over the stores;
* ``store+tables``: as ``store`` with the cohort's long tables also loaded first, as the Kedro
  build node has them (its ``observations`` / ``labels`` inputs).

The epoch's train loss is printed for each mode (the store modes must give the memory mode's).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MODES = ("memory", "store", "store+tables")


def report(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _measure(mode: str, folder: Path, cache: Path, work: Path) -> dict:
    import resource
    import time

    from seqhealth.engine.fit import resolve_train_config, train_model
    from seqhealth.tasks.vitals_sepsis import TASK
    from seqhealth.vitals.partitions import StayFolder, prepare_2019

    conf = yaml.safe_load((ROOT / "conf/base/parameters_vitals_sepsis.yml").read_text())["vitals_sepsis"]
    shared = yaml.safe_load((ROOT / "conf/base/parameters_train.yml").read_text())["train"]
    train_cfg = resolve_train_config(shared, {**conf["train"], "max_epochs": 1, "enable_progress_bar": False,
                                              "accelerator": "cpu", "checkpoint_dir": str(work / f"ckpt_{mode}")})  # fmt: skip
    train_cfg["gate"] = TASK.training_gate(train_cfg.get("gate"))
    start, tables = time.perf_counter(), None
    if mode == "memory":
        prepared = prepare_2019(StayFolder(folder, cache))
        model_input = TASK.build_model_input(prepared.observations, prepared.labels, conf["samples"])
        del prepared
    else:
        tables = prepare_2019(StayFolder(folder, cache)) if mode == "store+tables" else None
        model_input = TASK.build_stored_model_input(cache, conf["samples"], store_dir=work / "store")
    built = time.perf_counter()
    build_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _bundle, history = train_model(model_input, conf["model"], train_cfg)
    del tables  # the long tables stay alive through the epoch, as in a Kedro run
    return {"mode": mode, "build_s": built - start, "epoch_s": time.perf_counter() - built,
            "build_peak_mb": build_peak, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "train_loss": history[-1].get("train_loss"), "val_auprc": history[-1].get("val_auprc"),
            "store_mb": sum(p.stat().st_size for p in (work / "store").glob("*.arrow")) / 1e6 if mode != "memory" else None}  # fmt: skip


def measure(mode: str, folder: Path, cache: Path, work: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", mode, str(folder), str(cache), str(work)],
                          capture_output=True, text=True, check=False, cwd=ROOT)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{mode} on {folder} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5771])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/physionet2019_sepsis_large/training_setB")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, folder, cache, work = args.child
        report(json.dumps(_measure(mode, Path(folder), Path(cache), Path(work))))
        return 0
    from seqhealth.vitals.partitions import StayFolder, prepare_2019

    paths = sorted(args.data.glob("*.psv"))
    report("| patients | mode | build s | epoch s | peak RSS after build MB | peak RSS build + epoch MB | store MB | "
           "epoch train loss |")  # fmt: skip
    report("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / f"n{n}"
            folder.mkdir()
            for path in paths[:n]:
                (folder / path.name).symlink_to(path.resolve())
            cache = Path(tmp) / "prepared"
            prepare_2019(StayFolder(folder, cache))  # the prepared layer, as ingest leaves it
            for mode in MODES:
                row = measure(mode, folder, cache, Path(tmp) / mode)
                store = f"{row['store_mb']:.0f}" if row["store_mb"] is not None else "-"
                report(f"| {n:,} | {mode} | {row['build_s']:.1f} | {row['epoch_s']:.1f} | {row['build_peak_mb']:,.0f} | "
                       f"{row['peak_rss_mb']:,.0f} | {store} | {row['train_loss']:.6f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
