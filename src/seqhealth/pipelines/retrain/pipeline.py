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
                inputs=["retrain.raw_partitions", "retrain.previous_decision", "params:retrain"],
                outputs="retrain.data_state",
                name="fingerprint_raw_partitions",
            ),
            Node(
                prepare_model_input,
                inputs=["retrain.raw_partitions", "retrain.data_state", "retrain.frozen_eval_previous", "parameters"],
                outputs=[
                    "retrain.model_input",
                    "retrain.frozen_eval",
                    "retrain.builder_inputs",
                    "retrain.quarantine",
                    "retrain.ingest_report",
                ],
                name="ingest_partitions_with_frozen_eval_set",
            ),
            Node(
                train_challenger,
                inputs=["retrain.model_input", "parameters"],
                outputs=["retrain.challenger", "retrain.challenger_history"],
                name="train_challenger",
            ),
            Node(
                compare_on_frozen_set,
                inputs=["retrain.challenger", "retrain.challenger_history", "retrain.model_input", "retrain.builder_inputs"],
                outputs="retrain.comparison",
                name="evaluate_champion_and_challenger",
            ),
            Node(
                decide_and_record,
                inputs=["retrain.challenger", "retrain.comparison", "retrain.data_state", "parameters"],
                outputs="retrain.decision",
                name="gate_and_record_decision",
            ),
        ],
        tags=["retrain"],
    )
