"""The `acsa` command line: thin adapters over the services, one transaction per command."""
