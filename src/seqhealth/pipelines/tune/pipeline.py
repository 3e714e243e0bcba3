"""tune: model input of ``tune.task`` -> Optuna study -> plots, best params -> best model registered."""

from kedro.pipeline import Node, Pipeline

from .nodes import register_best_model, study_plots, train_best_configuration, tune_hyperparameters


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                tune_hyperparameters,
                inputs=["model_input", "parameters"],
                outputs=["study_summary", "best_params"],
                name="run_optuna_study",
            ),
            Node(
                study_plots,
                inputs=["study_summary", "params:tune"],
                outputs=["optimization_history", "param_importances", "parallel_coordinate"],
                name="plot_study",
            ),
            Node(
                train_best_configuration,
                inputs=["model_input", "best_params", "parameters"],
                outputs=["best_model", "best_training_history", "best_metrics"],
                name="train_best_configuration",
            ),
            Node(
                register_best_model,
                inputs=["best_model", "best_metrics"],
                outputs="registration",
                name="register_best_model",
            ),
        ],
        tags=["tune"],
        # Datasets are `tune.<name>` (catalog_tune.yml); Kedro adds the prefix.
        namespace="tune",
        parameters={"params:tune"},
    )
