"""Shared helpers of the retraining tests: parameters from conf/base, new data partitions."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.helpers.demo import write_demo_vitals

REPO_ROOT = Path(__file__).resolve().parents[2]


def project_parameters(**overrides) -> dict:
    """conf/base/parameters*.yml merged (top-level groups), the way Kedro loads them."""
    parameters: dict = {}
    for path in sorted((REPO_ROOT / "conf" / "base").glob("parameters*.yml")):
        parameters.update(yaml.safe_load(path.read_text()) or {})
    parameters.update(overrides)
    return parameters


def add_mortality_partition(task_dir: Path, partition: str, n_patients: int, seed: int, first_id: int) -> list[str]:
    """A new dated partition of PhysioNet 2012 files with NEW RecordIDs (and its outcomes file)."""
    scratch = task_dir.parent / f".scratch-{partition}"
    written = write_demo_vitals(scratch, seed=seed)
    target = task_dir / partition
    target.mkdir(parents=True)
    old_to_new, lines = {}, []
    for index, path in enumerate(sorted(written["mortality_files"])[:n_patients]):
        new_id = str(first_id + index)
        old_to_new[path.stem] = new_id
        text = path.read_text().replace(f",RecordID,{path.stem}\n", f",RecordID,{new_id}\n")
        (target / f"{new_id}.txt").write_text(text)
    outcome_lines = written["mortality_outcomes"].read_text().splitlines()
    lines = [outcome_lines[0]] + [
        ",".join([old_to_new[row.split(",")[0]], *row.split(",")[1:]])
        for row in outcome_lines[1:]
        if row.split(",")[0] in old_to_new
    ]
    (target / f"Outcomes-{partition}.txt").write_text("\n".join(lines) + "\n")
    shutil.rmtree(scratch)
    return sorted(old_to_new.values())
