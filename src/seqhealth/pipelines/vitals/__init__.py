"""Both vitals tasks: vitals_mortality + vitals_sepsis."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
