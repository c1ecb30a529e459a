"""smtptui: talk SMTP by hand, with completion, grammar checks and explanations."""

__version__ = "0.1.0"
