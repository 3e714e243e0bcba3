"""``kedro run --pipeline predict --params "predict.task=<task>,predict.path=FILE_OR_DIR"``.

Scores new raw files (training formats, labels optional) with ``models:/seqhealth-<task>@champion``
and writes ``data/07_model_output/<task>/predictions.parquet`` (plus the task's further files,
e.g. ``genes.gff3`` for dna_coding, in the same folder); quarantined records go to
``data/08_reporting/predict/<task>/quarantine.csv``.
"""

from kedro.pipeline import Node, Pipeline

from seqhealth.pipelines.predict.nodes import prepare_request, score_with_champion
from seqhealth.pipelines.predict.outputs import task_predict_outputs


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                prepare_request,
                inputs="raw_input",
                outputs=["request", "quarantine", "ingest_report"],
                name="validate_raw_input",
                tags=["predict", "inference", "ingestion"],
            ),
            Node(
                score_with_champion,
                inputs=["request", "params:predict"],
                outputs="predictions",
                name="score_with_champion",
                tags=["predict", "inference"],
            ),
            Node(
                task_predict_outputs,
                inputs=["request", "predictions", "params:predict"],
                outputs="task_outputs",
                name="write_task_outputs",
                tags=["predict", "inference"],
            ),
        ],
        # Datasets are `predict.<name>` (catalog_predict.yml); Kedro adds the prefix.
        namespace="predict",
        parameters={"params:predict"},
    )
