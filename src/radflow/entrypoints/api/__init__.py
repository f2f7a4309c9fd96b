"""radflow.entrypoints.api."""
