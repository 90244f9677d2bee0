"""The training wizard: Task, Data, Settings, Training (live charts) and Results pages over `training.engine.fit`.

Qt-free modules (`forwarder`, `inspect`, `estimate`, `results`, `runs`, `defaults`) hold the logic; the pages
and `bridge` only adapt them. Import the wizard itself from `faceapp.ui.wizard.wizard`.
"""
