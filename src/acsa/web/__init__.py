"""The web application for logistics and finance officers (see docs/web.md)."""
