"""Agreements: the treaty-level rules every order is checked against."""
