"""Batch prediction with the registered champion: ``kedro run --pipeline predict``."""

from seqhealth.pipelines.predict.pipeline import create_pipeline

__all__ = ["create_pipeline"]
