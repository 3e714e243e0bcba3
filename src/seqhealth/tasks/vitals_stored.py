"""A vitals model input built partition by partition into per-split Arrow stores (issue 21, point 3).

``VitalsTask.vitals_model_input`` holds every patient's sequence and sample of the cohort. Here the
prepared layer (``vitals.partitions``: every patient in one partition) is read three times, one
partition at a time, and the process holds one partition's sequences and samples plus small
per-patient / per-split facts:

1. patient ids, split strata and the subgroup descriptors -> the split assignment;
2. the training patients' observed-value moments -> the normalisation statistics;
3. the samples, written to ``<store_dir>/<split>.staged.arrow`` as they are made, then rewritten
   in sorted patient order (the in-memory builder's order, so training shuffles the same way).

The result is ``vitals_model_input``'s document with store paths as ``splits`` and the same samples,
fingerprint and normalisation (tested on the shared 2019 sample). A task supplies ``parts_of``:
``(observations, labels) -> (sequences, labels_of, strata)`` of one partition, as its in-memory
builder makes them for the whole cohort.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from seqhealth.batching.arrow_store import ArrowSequenceDataset, ArrowStoreWriter, default_store_dir
from seqhealth.engine.fingerprint import samples_fingerprint
from seqhealth.splits import split_groups
from seqhealth.vitals.features import CHANNELS, apply_features_many, normalisation_method
from seqhealth.vitals.quantile_scaling import fit_knots
from seqhealth.vitals.streamed_input import (
    ObservedMoments,
    partition_numbers,
    read_partition,
    write_in_order,
)

SPLITS = ("train", "val", "test")


def stored_vitals_model_input(task, cache: str | Path, params: dict, parts_of: Callable, causal: bool,
                              task_kind: str, store_dir: str | Path | None = None, split: Callable = split_groups,
                              train_target: Callable | None = None, **extra) -> tuple[dict, dict]:  # fmt: skip
    """``(model_input, train_label_sums)``: the model input with ``splits`` as store paths, and
    ``{"sum", "n"}`` of the training labels (for the task's class weighting). ``train_target``:
    labels -> training target of the train patients only (as ``VitalsTask.vitals_model_input``)."""
    cache = Path(cache)
    store_dir = Path(store_dir or params.get("store_dir") or default_store_dir(task.name)).resolve()
    parts = partition_numbers(cache)

    # Pass 1: who is in the cohort, their strata and descriptors.
    strata: dict | None = {}
    info: dict[str, dict] = {v: {} for v in task.static_variables}
    patients: list[str] = []
    for part in parts:
        sequences, _labels_of, part_strata = parts_of(*read_partition(cache, part))
        patients.extend(sequences)
        strata = None if part_strata is None or strata is None else {**strata, **part_strata}
        for variable, values in task._first_values(sequences, task.static_variables).items():
            info[variable].update(values)
    patients = sorted(patients)
    assignment = split(
        patients, params.get("split"), seed=int(params.get("seed", 0)), strata=strata
    )
    del strata

    # Pass 2: normalisation statistics of the training patients.
    moments = ObservedMoments(task.variables)
    method = normalisation_method(params.get("normalisation"))
    # Rank-based scaling needs the training values themselves: the observed ones, per variable.
    train_values: list[list[np.ndarray]] = [[] for _ in task.variables]
    for part in parts:
        sequences, _labels_of, _strata = parts_of(*read_partition(cache, part))
        for patient, seq in sequences.items():
            if assignment[patient] == "train":
                moments.add(seq["values"])
                if method == "quantile":
                    for column, kept in zip(seq["values"].T, train_values, strict=True):
                        kept.append(column[~np.isnan(column)])
    stats = moments.stats()
    if method == "quantile":
        stats["quantiles"] = fit_knots([np.concatenate(kept) if kept else np.zeros(0) for kept in train_values])

    # Pass 3: samples into staged stores, one partition's samples at a time.
    channels = list(params.get("channels") or CHANNELS)
    writers: dict[str, ArrowStoreWriter] = {}
    written: dict[str, list[str]] = {name: [] for name in SPLITS}
    label_sums = {"sum": 0.0, "n": 0}
    input_size = None
    try:
        for part in parts:
            sequences, labels_of, _strata = parts_of(*read_partition(cache, part))
            ordered = sorted(sequences)
            features = apply_features_many(
                [sequences[p] for p in ordered], stats, channels=channels
            )
            for patient, x in zip(ordered, features, strict=True):
                seq, name = sequences[patient], assignment[patient]
                y = labels_of(patient, seq, stats)
                if name == "train":
                    y = y if train_target is None else train_target(y)
                    input_size = int(x.shape[1])
                    label_sums["sum"] += float(np.sum(y))
                    label_sums["n"] += int(np.size(y))
                if name not in writers:
                    writers[name] = ArrowStoreWriter(store_dir / f"{name}.staged.arrow")
                writers[name].write([{"x": x, "y": y, "length": len(x)}])
                written[name].append(patient)
            del sequences
        staged = {name: writer.close() for name, writer in writers.items()}
    except BaseException as error:
        for writer in writers.values():
            writer.__exit__(type(error), error, None)
        raise
    if input_size is None:
        raise ValueError(f"{task.name}: no training patient in {cache}")

    splits: dict = {name: [] for name in SPLITS}
    for name, path in staged.items():
        order = sorted(range(len(written[name])), key=written[name].__getitem__)
        splits[name] = str(write_in_order(path, order, store_dir / f"{name}.arrow"))
    fingerprint = samples_fingerprint(
        {name: ArrowSequenceDataset(s) if s else [] for name, s in splits.items()}
    )
    patient_order = {name: sorted(written[name]) for name in SPLITS}
    model_input = task.model_input_document(splits, patient_order, info, stats, channels, params, causal, task_kind,
                                            input_size=input_size, fingerprint=fingerprint, **extra)  # fmt: skip
    return model_input, label_sums
