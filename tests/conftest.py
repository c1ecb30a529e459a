"""Settings shared by the whole suite.

Hypothesis's per-example deadline (200 ms by default) is a timing assertion in disguise:
on a loaded machine it fails property tests that are correct. The suite asserts
behaviour, never speed (speed is measured in bench/), so no deadline.
"""

from hypothesis import settings

settings.register_profile("smtptui", deadline=None)
settings.load_profile("smtptui")
