"""``kedro run --pipeline retrain --params "retrain.task=<task>"``: scheduled retraining."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
