"""batching package."""
