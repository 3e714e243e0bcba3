"""Stay-level in-hospital mortality from the first 48 h of ICU vitals (PhysioNet 2012)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
