"""radflow.adapters.notify."""
