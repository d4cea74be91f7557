"""Paper-figure reproductions (see verify/reproductions.py)."""
