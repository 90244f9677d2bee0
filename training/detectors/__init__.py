"""Face detectors beyond the Haar cascade (training/faces.py): BlazeFace, with landmarks."""
