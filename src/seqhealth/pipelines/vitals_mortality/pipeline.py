"""vitals_mortality: PhysioNet 2012 folder -> validated long table -> GRU-D inputs -> BiRNN."""

from kedro.pipeline import Node, Pipeline

from seqhealth.pipelines.task_pipeline import task_pipeline
from seqhealth.tasks.vitals import build_mortality_model_input, evaluate_mortality
from seqhealth.vitals.validation import validate_2012


def create_pipeline(**kwargs) -> Pipeline:
    return task_pipeline(
        "vitals_mortality",
        [
            Node(
                validate_2012,
                inputs="raw_stays",
                outputs=["observations", "labels", "quarantine", "ingest_report"],
                name="validate_stays",
                tags=["ingestion"],
            ),
            Node(
                build_mortality_model_input,
                inputs=["observations", "labels", "params:samples"],
                outputs="model_input",
                name="build_normalised_stay_sequences",
                tags=["features"],
            ),
        ],
        evaluate_mortality,
    )
