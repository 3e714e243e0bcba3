"""retrain: raw partitions -> (skip if unchanged) -> model input with the frozen evaluation set ->
challenger -> champion vs challenger on the same groups -> gate -> registry aliases + decision file.

The task is a runtime parameter (``retrain.task``) while pipelines are built before parameters
are known, so the nodes dispatch through ``tasks.registry`` and the catalog paths follow
``${runtime_params:retrain.task}``. The lock around the whole run is ``retraining.hooks``.
Intermediate results are in-memory datasets: ``kedro airflow create --group-by memory`` then
keeps the run in ONE Airflow task, i.e. one Kedro session holding one lock.
"""

from kedro.pipeline import Node, Pipeline

from seqhealth.retraining.retrain import (
    check_data_state,
    compare_on_frozen_set,
    decide_and_record,
    prepare_model_input,
    train_challenger,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                check_data_state,
                inputs=["raw_partitions", "previous_decision", "params:retrain"],
                outputs="data_state",
                name="fingerprint_raw_partitions",
            ),
            Node(
                prepare_model_input,
                inputs=["raw_partitions", "data_state", "frozen_eval_previous", "parameters"],
                outputs=[
                    "model_input",
                    "frozen_eval",
                    "builder_inputs",
                    "quarantine",
                    "ingest_report",
                ],
                name="ingest_partitions_with_frozen_eval_set",
            ),
            Node(
                train_challenger,
                inputs=["model_input", "parameters"],
                outputs=["challenger", "challenger_history"],
                name="train_challenger",
            ),
            Node(
                compare_on_frozen_set,
                inputs=["challenger", "challenger_history", "model_input", "builder_inputs"],
                outputs="comparison",
                name="evaluate_champion_and_challenger",
            ),
            Node(
                decide_and_record,
                inputs=["challenger", "comparison", "data_state", "parameters"],
                outputs="decision",
                name="gate_and_record_decision",
            ),
        ],
        tags=["retrain"],
        # Datasets are `retrain.<name>` (catalog_retrain.yml); Kedro adds the prefix.
        namespace="retrain",
        parameters={"params:retrain"},
    )
