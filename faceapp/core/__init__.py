"""FaceApp's Qt-free application layer: tagging, verification, the model store, framing, caches,
resources and logs, and the logic of the training wizard. Nothing here imports Qt (a test walks the package)."""
