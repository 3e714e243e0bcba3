"""One table of the four tasks, so pipelines built before the task is known (retrain, tune,
predict) can dispatch on a runtime task name.

Every entry only points at the functions the task pipelines already use; the small adapters
below give them one calling shape:

* ``ingest(raw, task_params) -> (builder_inputs, quarantine, report)``: validation (and the
  labels join for ``dna_classify``); ``builder_inputs`` is the tuple the model-input builder
  takes before its parameter section;
* ``build_model_input(*builder_inputs, task_params[params_key]) -> model_input``;
* ``evaluate(bundle, model_input, history) -> (metrics, predictions, figures)``;
* ``group_key(builder_inputs, section) -> callable``: turns a group id handed to
  ``splits.split_groups`` by the builder into a name that stays the same when data is added
  (patient id, sequence id, or ``record:start-end`` for a genomic block, whose index is not stable);
* ``eval_samples_for(model_input, builder_inputs, preprocessing)``: the val/test samples
  encoded with ANOTHER model's preprocessing (a champion trained on older data), or None when
  samples do not depend on fitted statistics.

Raw input per task: a records frame for ``dna_coding``; ``{"records", "labels_table"}`` for
``dna_classify``; the ``PhysioNet2012Dataset`` dict for ``vitals_mortality``; the 2019 wide frame
for ``vitals_sepsis``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from seqhealth.genomics.validation import validate_dna_records
from seqhealth.splits import genomic_blocks
from seqhealth.tasks.dna import (
    build_classify_model_input,
    build_coding_model_input,
    evaluate_classify,
    evaluate_coding,
    label_sequences,
)
from seqhealth.tasks.vitals import (
    build_mortality_model_input,
    build_sepsis_model_input,
    evaluate_mortality,
    evaluate_sepsis,
)
from seqhealth.vitals.features import encode_like
from seqhealth.vitals.validation import validate_2012, validate_2019


@dataclass(frozen=True)
class TaskSpec:
    name: str
    ingest: Callable
    build_model_input: Callable
    evaluate: Callable
    params_key: str  # the section of ``<task>`` parameters the builder takes
    group_unit: str  # what the split keeps apart: patient | locus | sequence
    group_key: Callable
    eval_samples_for: Callable | None = None


# ----------------------------------------------------------------------------- ingestion
def _ingest_coding(raw, task_params: dict):
    records, quarantine, report = validate_dna_records(raw)
    return (records,), quarantine, report


def _ingest_classify(raw: dict, task_params: dict):
    records, quarantine, report = validate_dna_records(raw["records"])
    labelled, label_report = label_sequences(
        records, raw["labels_table"], task_params.get("id_column", "id"), task_params.get("label_column", "label")
    )
    # Ids are counted in the report; the id lists themselves stay out of it.
    counts = {k: v for k, v in label_report.items() if not isinstance(v, list)}
    return (labelled,), quarantine, {**report, "labels": counts}


def _ingest_vitals(validate):
    def ingest(raw, task_params: dict):
        clean_long, labels, quarantine, report = validate(raw)
        return (clean_long, labels), quarantine, report

    return ingest


# ---------------------------------------------------------------------------- group names
def _identity_key(builder_inputs, section: dict):
    return str


def _block_key(builder_inputs, section: dict):
    """``split_groups`` sees block indices; name them by coordinates (stable across new records)."""
    (records,) = builder_inputs
    lengths = dict(zip(records["record_id"], records["length"].astype(int)))
    blocks = genomic_blocks(lengths, int(section["block_size"]))
    return lambda index: f"{blocks[index][0]}:{blocks[index][1]}-{blocks[index][2]}"


# ------------------------------------------------------------- samples for another model
def _vitals_eval_samples(model_input: dict, builder_inputs, preprocessing: dict) -> dict:
    """Val/test samples re-encoded with ``preprocessing``'s normalisation (same patients, same
    labels), built with the functions the builder uses, so a champion fitted on older patients
    is scored on exactly the inputs it would get in serving."""
    clean_long, labels = builder_inputs
    grid = labels[["patient_id", "time_h"]] if preprocessing["times"] == "hourly" else "observed"
    wanted = [p for split in ("val", "test") for p in model_input["patients"][split]]
    encoded = encode_like(clean_long, preprocessing, times=grid, patients=wanted)
    out = {}
    for split in ("val", "test"):
        patients = model_input["patients"][split]
        out[split] = [
            {**sample, "x": encoded[patient][1]}
            for patient, sample in zip(patients, model_input["splits"][split], strict=True)
        ]
    return out


TASK_SPECS: dict[str, TaskSpec] = {
    "dna_coding": TaskSpec(
        "dna_coding", _ingest_coding, build_coding_model_input, evaluate_coding,
        params_key="windows", group_unit="locus", group_key=_block_key,
    ),
    "dna_classify": TaskSpec(
        "dna_classify", _ingest_classify, build_classify_model_input, evaluate_classify,
        params_key="samples", group_unit="sequence", group_key=_identity_key,
    ),
    "vitals_mortality": TaskSpec(
        "vitals_mortality", _ingest_vitals(validate_2012), build_mortality_model_input, evaluate_mortality,
        params_key="samples", group_unit="patient", group_key=_identity_key, eval_samples_for=_vitals_eval_samples,
    ),
    "vitals_sepsis": TaskSpec(
        "vitals_sepsis", _ingest_vitals(validate_2019), build_sepsis_model_input, evaluate_sepsis,
        params_key="samples", group_unit="patient", group_key=_identity_key, eval_samples_for=_vitals_eval_samples,
    ),
}  # fmt: skip


def task_spec(task: str | None) -> TaskSpec:
    """The spec of ``task``; an unknown or missing name gets an error listing the valid ones."""
    if task not in TASK_SPECS:
        raise ValueError(f"unknown task {task!r}: expected one of {sorted(TASK_SPECS)}")
    return TASK_SPECS[task]
