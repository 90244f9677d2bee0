"""FaceApp's Qt layer: the application, main window, pages, wizard, workers, widgets and charts. It adapts
`faceapp.core` and `training` and holds no model logic of its own."""
