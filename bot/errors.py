"""A refusal: the command was understood but cannot be done. Raised inside a transaction, it
rolls everything back, so a refused command changes nothing."""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    def __init__(self, key: str, /, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
