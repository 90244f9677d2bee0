"""FaceApp's headless ML core: data, models, training, checkpoints and inference (never imports Qt)."""

__version__ = "0.1.0"
