"""Where random ids come from (agreement ids, and anything else members see as an id).

On real platforms ids must be unguessable, so they come from `secrets`. In the console every
random choice comes from the run's seed instead, so the same `--seed`/`--start` and script give
the same transcript. The source is passed in (bot/app.py), never chosen globally.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from typing import Protocol


class IdSource(Protocol):
    def choice(self, options: Sequence[str]) -> str: ...


class SecretIds:
    """Unguessable: the operating system's cryptographic randomness."""

    def choice(self, options: Sequence[str]) -> str:
        return secrets.choice(options)


class SeededIds:
    """Repeatable: the same seed gives the same ids in the same order (the console only)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(f"ids:{seed}")

    def choice(self, options: Sequence[str]) -> str:
        return self._random.choice(options)
