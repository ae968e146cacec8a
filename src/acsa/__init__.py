"""acsa: mutual logistics support under Acquisition and Cross-Servicing Agreements."""

__version__ = "0.1.0"
