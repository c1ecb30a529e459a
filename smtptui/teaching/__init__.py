"""Guided lessons: the lesson model, its loader and a pure engine.

UI-free and I/O-free apart from reading lesson files: learner input and replies go in,
verdicts, hints and narration come out. Both the Textual app's guided mode and the
headless ``smtptui run LESSON`` use it. Imports only the core and the standard library.
"""

from smtptui.teaching.model import Lesson, LessonStep, Localized, WorldSource

__all__ = ["Lesson", "LessonStep", "Localized", "WorldSource"]
