"""radflow.adapters.dicom."""
