"""vitals_sepsis: PhysioNet 2019 .psv folder -> validated hourly table -> causal RNN tagger."""

from kedro.pipeline import Node, Pipeline

from seqhealth.pipelines.task_pipeline import task_pipeline
from seqhealth.tasks.vitals import build_sepsis_model_input, evaluate_sepsis
from seqhealth.vitals.validation import validate_2019


def create_pipeline(**kwargs) -> Pipeline:
    return task_pipeline(
        "vitals_sepsis",
        [
            Node(
                validate_2019,
                inputs="raw_stays",
                outputs=["observations", "labels", "quarantine", "ingest_report"],
                name="validate_stays",
                tags=["ingestion"],
            ),
            Node(
                build_sepsis_model_input,
                inputs=["observations", "labels", "params:samples"],
                outputs="model_input",
                name="build_normalised_hourly_sequences",
                tags=["features"],
            ),
        ],
        evaluate_sepsis,
    )
