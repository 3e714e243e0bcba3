"""tune: model input of ``tune.task`` -> Optuna study -> plots, best params -> best model registered."""

from kedro.pipeline import Node, Pipeline

from .nodes import register_best_model, study_plots, train_best_configuration, tune_hyperparameters


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                tune_hyperparameters,
                inputs=["tune.model_input", "parameters"],
                outputs=["tune.study_summary", "tune.best_params"],
                name="run_optuna_study",
            ),
            Node(
                study_plots,
                inputs=["tune.study_summary", "params:tune"],
                outputs=["tune.optimization_history", "tune.param_importances", "tune.parallel_coordinate"],
                name="plot_study",
            ),
            Node(
                train_best_configuration,
                inputs=["tune.model_input", "tune.best_params", "parameters"],
                outputs=["tune.best_model", "tune.best_training_history", "tune.best_metrics"],
                name="train_best_configuration",
            ),
            Node(
                register_best_model,
                inputs=["tune.best_model", "tune.best_metrics"],
                outputs="tune.registration",
                name="register_best_model",
            ),
        ],
        tags=["tune"],
    )
