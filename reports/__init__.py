"""reports package (see README)."""
