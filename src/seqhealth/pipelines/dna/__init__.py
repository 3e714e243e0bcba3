"""Both DNA tasks: dna_coding + dna_classify."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
