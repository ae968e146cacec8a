"""One module of routes per business noun."""
