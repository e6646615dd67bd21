"""The console adapter's `[console]` section of the config file (`ALONGSIDE_CONSOLE__...` in the
environment). The composition root adds it to the program's settings (alongside/settings.py)."""

from __future__ import annotations

from bot.config import Section


class ConsoleSettings(Section):
    """The console adapter (`alongside run --adapter console`): a simulated space."""

    community: str = "demo"
    channel: str = "circle"
    # The other channels the simulated space has (`/in #name`, `setup question-channel #name`).
    channels: list[str] = ["reflections", "pairs"]
    members: list[str] = ["alex", "sam", "jo", "rin"]
    facilitators: list[str] = ["alex"]
