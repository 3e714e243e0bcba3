"""vitals package."""
