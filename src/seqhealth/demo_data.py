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

from seqhealth.genomics.demo import write_demo_dna
from seqhealth.tasks import TASK_NAMES
from seqhealth.vitals.demo import write_demo_vitals

logger = logging.getLogger(__name__)
DEMO_FOLDERS = TASK_NAMES  # one raw folder per task


def write_demo_data(out_dir: Path, seed: int = 0, force: bool = False) -> list[Path]:
    """Generate the four tasks' raw inputs under ``out_dir``; returns the folders written."""
    out_dir = Path(out_dir)
    present = [out_dir / name for name in DEMO_FOLDERS if any((out_dir / name).glob("**/*.*"))]
    if present and not force:
        if len(present) == len(DEMO_FOLDERS):
            logger.info("demo data already present in %s (use --force to regenerate)", out_dir)
            return []
    for name in DEMO_FOLDERS:
        shutil.rmtree(out_dir / name, ignore_errors=True)
    # 150 classification sequences keep the default run within its 5-minute budget on 2 cores.
    write_demo_dna(out_dir, seed=seed, n_classify=150)
    write_demo_vitals(out_dir, seed=seed)
    return [out_dir / name for name in DEMO_FOLDERS]


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
