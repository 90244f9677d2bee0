"""FaceApp's headless ML core: data, models, training, checkpoints and inference (never imports Qt)."""

__version__ = "0.1.0"

import os

# GNU OpenMP busy-waits between parallel regions by default, which steals the cores that data-loading
# workers and the app's face-finding threads need on small machines (measured on 2 cores: a training
# epoch 2.5x slower). It is read once, when torch loads; every FaceApp entry point imports this first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
