"""The app's widgets: transcript view, command line, state panel, message composer."""
