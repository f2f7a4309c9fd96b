"""radflow.adapters."""
