"""Parties (the nations' forces), their units and their authorised officials."""
