"""The HTTP API: thin FastAPI routes over the same services the CLI calls."""
