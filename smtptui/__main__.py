from smtptui.cli import entry

entry()
