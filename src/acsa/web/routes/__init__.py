"""The web pages, one module per noun, thin over the services."""
