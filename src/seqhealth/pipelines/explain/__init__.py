"""Explanations of the registered model's predictions: ``kedro run --pipeline explain``."""

from seqhealth.pipelines.explain.pipeline import create_pipeline

__all__ = ["create_pipeline"]
