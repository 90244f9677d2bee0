"""The training wizard's Qt-free logic: data check, time estimate, progress forwarding, run records,
results and adoption of a trained model. The pages in `faceapp.ui.wizard` only adapt it."""
