"""radflow.entrypoints."""
