"""Small model inputs of every registered task, built by the task's own code from its demo data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seqhealth.tasks.base import Task
from tests.retraining.helpers import project_parameters

SMALL_SPLIT = {"train": 0.6, "val": 0.2, "test": 0.2}
N_PATIENTS = 40  # patients kept of a vitals demo set
N_SEQUENCES = 60  # labelled sequences kept of a classification demo set
N_GENOME_BASES = 12_000  # bases kept of the first demo genome


def _small(frame):
    """A few patients / sequences / one short locus of an ingest output (fast to train on)."""
    if not isinstance(frame, pd.DataFrame):
        return frame
    if "patient_id" in frame.columns:
        keep = sorted(frame["patient_id"].astype(str).unique())[:N_PATIENTS]
        return frame[frame["patient_id"].astype(str).isin(keep)]
    if "label" in frame.columns:  # labelled sequences: a sample of every class
        return frame.sample(n=min(N_SEQUENCES, len(frame)), random_state=0)
    if "cds_parts" in frame.columns:  # a genome: the first record's first bases, whole CDS only
        first = frame.head(1).copy()
        first["tokens"] = [t[:N_GENOME_BASES] for t in first["tokens"]]
        first["length"] = [len(t) for t in first["tokens"]]
        first["cds_parts"] = [[p for p in cds if all(e <= N_GENOME_BASES for _, e, _ in p)] for cds in first["cds_parts"]]
        return first
    return frame


def small_model_input(task: Task, demo_root: Path, **section_overrides) -> tuple[dict, tuple]:
    """``(model_input, builder_inputs)`` of ``task`` on a subset of its demo data, with the task's
    configured section (conf/base/parameters_<task>.yml) and a 60/20/20 split."""
    params = project_parameters()[task.name]
    ingested = task.ingest(task.read_raw(demo_root / task.name), params)
    builder_inputs = tuple(_small(ingested[name]) for name in task.builder_inputs)
    section = {**params[task.params_key], "split": SMALL_SPLIT, "seed": 0}
    if "block_size" in section:  # loci small enough that the short genome has several per split
        section.update(block_size=N_GENOME_BASES // 8, window=min(int(section["window"]), 300))
    section.update(section_overrides)
    return task.build_model_input(*builder_inputs, section), builder_inputs
