"""Causal hourly sepsis early warning from ICU vitals (PhysioNet 2019)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
