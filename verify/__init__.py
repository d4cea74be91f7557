"""verify package (see README)."""
