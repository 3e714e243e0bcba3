"""genomics package."""
