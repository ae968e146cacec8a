"""The books: double-entry, append-only, one book per party."""
