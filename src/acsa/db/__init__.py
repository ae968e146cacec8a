"""Database plumbing: engine, unit of work, declarative base and column types."""
