"""Users: who signs in, their party, the official they act as, sessions and API tokens."""
