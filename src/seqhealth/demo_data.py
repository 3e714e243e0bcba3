"""Write the project's demo data into ``data/01_raw`` (deterministic, real file formats).

    python -m seqhealth.demo_data [--out data/01_raw] [--seed 0] [--force]

Existing demo folders are left alone unless ``--force`` is given, so the command is cheap to
run before every ``kedro run``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from seqhealth.tasks.registry import TASKS

logger = logging.getLogger(__name__)


def write_demo_data(out_dir: Path, seed: int = 0, force: bool = False) -> list[Path]:
    """Every task's demo input in ``out_dir/<task>``; returns the folders written.

    A task whose folder already holds files is left alone unless ``force``."""
    out_dir = Path(out_dir)
    written = []
    for name, task in TASKS.items():
        folder = out_dir / name
        if any(folder.glob("**/*.*")) and not force:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        task.write_demo(folder, seed)
        written.append(folder)
    if not written:
        logger.info("demo data already present in %s (use --force to regenerate)", out_dir)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/01_raw", type=Path)
    parser.add_argument("--seed", default=0, type=int)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    written = write_demo_data(args.out, seed=args.seed, force=args.force)
    for folder in written:
        logger.info("wrote %s", folder)


if __name__ == "__main__":
    main()
