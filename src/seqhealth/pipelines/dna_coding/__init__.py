"""Per-base coding / non-coding tagging of annotated genomes (GenBank)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
