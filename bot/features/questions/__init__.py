"""Reflective questions: the feature (`feature.py`), its storage (`repo.py`) and depth rules (`depth.py`)."""

from bot.features.questions.feature import (
    COMMANDS,
    FOCUS_CHOICES,
    QUESTION_MARKS,
    SUGGESTED_PREFIX,
    SUGGESTION_PURPOSE,
    QuestionsFeature,
    Schedule,
    format_when,
    thread_title,
)

__all__ = [
    "COMMANDS",
    "FOCUS_CHOICES",
    "QUESTION_MARKS",
    "SUGGESTED_PREFIX",
    "SUGGESTION_PURPOSE",
    "QuestionsFeature",
    "Schedule",
    "format_when",
    "thread_title",
]
