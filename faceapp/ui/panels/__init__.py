"""The app's pages; each is a QWidget that starts, cancels and receives worker jobs and owns no model code."""
