"""radflow.simulation."""
