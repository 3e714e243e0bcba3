"""Sequence classification of FASTA sequences with a labels table."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
