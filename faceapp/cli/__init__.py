"""Console commands over the app's Qt-free core: `faceapp-tag` (batch tagging) and `faceapp-verify`.

Nothing here imports Qt (tests/test_cli_qt_free.py checks it), so the commands run on servers without
a display or the Qt libraries' system packages. They call the same functions as the app's pages
(`faceapp.core.tagging`, `faceapp.core.verify`), so a photo gets the same label on the command line and in the window.
"""
