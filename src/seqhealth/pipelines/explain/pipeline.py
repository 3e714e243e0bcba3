"""``kedro run --pipeline explain --params "explain.task=<task>,explain.path=FILE_OR_DIR"``.

Explains the registered model's predictions (``models:/seqhealth-<task>@champion`` unless
``explain.alias`` / ``explain.model_uri`` say otherwise) for the records / patients of new raw
files (``explain.ids`` chooses some), validated as ``predict`` validates them. Writes
``data/08_reporting/<task>/explain/``: the task's tables (parquet) and ``plots/``; quarantined
records go to ``quarantine.csv`` there.
"""

from kedro.pipeline import Node, Pipeline

from seqhealth.pipelines.explain.nodes import explain_request
from seqhealth.pipelines.predict.nodes import prepare_request


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                prepare_request,
                inputs="raw_input",
                outputs=["request", "quarantine", "ingest_report"],
                name="validate_input_to_explain",
                tags=["explain", "ingestion"],
            ),
            Node(
                explain_request,
                inputs=["request", "params:explain"],
                outputs="outputs",
                name="explain_with_registered_model",
                tags=["explain"],
            ),
        ],
        # Datasets are `explain.<name>` (catalog_explain.yml); Kedro adds the prefix.
        namespace="explain",
        parameters={"params:explain"},
    )
