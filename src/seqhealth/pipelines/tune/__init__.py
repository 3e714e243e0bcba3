"""tune: Optuna study of a task's model (pruned, resumable, parallel), best model trained and registered."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
