"""The pipeline board: orders per state and modality, and the oldest one's age."""
