"""The training wizard: Task, Data, Settings, Training (live charts) and Results pages over `training.engine.fit`.

The Qt-free modules of `faceapp.core.wizard` (`datacheck`, `estimate`, `forwarder`, `runs`, `results`,
`adoption`, `defaults`) hold the logic; the pages and `bridge` only adapt them. Each page is handed what it
needs when it is built (the `session` with the shared state, the run, the Training page's charts, signals),
never another page. Import the wizard itself from `faceapp.ui.wizard.wizard`.
"""
