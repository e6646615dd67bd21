"""Finding the line of a prompt file on which a parsed value (or a key) was written, so that a
problem names the line a person edits."""

from __future__ import annotations

import re
from collections import Counter


def _toml_basic(value: str) -> str:
    """Encode ``value`` as a one-line TOML basic string, the way a person would write it."""
    out = ['"']
    for char in value:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


class Locator:
    """Finds the 1-based line on which a string value (or a key) appears in the raw file."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self._line_starts = [0]
        for index, char in enumerate(raw):
            if char == "\n":
                self._line_starts.append(index + 1)
        self._seen: Counter[str] = Counter()

    def line_of(self, offset: int) -> int:
        low, high = 0, len(self._line_starts) - 1
        while low < high:
            mid = (low + high + 1) // 2
            if self._line_starts[mid] <= offset:
                low = mid
            else:
                high = mid - 1
        return low + 1

    @staticmethod
    def _candidates(value: str) -> list[str]:
        candidates = [_toml_basic(value)]
        if "'" not in value and "\n" not in value:
            candidates.append(f"'{value}'")
        first_line = next((line.strip() for line in value.splitlines() if line.strip()), "")
        if first_line:
            candidates.append(first_line)
        return candidates

    def _find_nth(self, needle: str, start: int, end: int, nth: int) -> int:
        position = start
        found = -1
        for _ in range(nth + 1):
            found = self.raw.find(needle, position, end)
            if found < 0:
                return -1
            position = found + 1
        return found

    def find_key(self, key: str, start: int = 0, end: int | None = None) -> int:
        """Offset of ``key = ...`` at or after ``start`` (before ``end``), or -1."""
        name = re.escape(key)
        pattern = re.compile(rf"""^[ \t]*(?:{name}|"{name}"|'{name}')[ \t]*=""", re.MULTILINE)
        match = pattern.search(self.raw, start, len(self.raw) if end is None else end)
        return match.start() if match else -1

    def find_value(
        self, value: str, *, key: str | None, start: int = 0, end: int | None = None
    ) -> int:
        """Line of ``value`` inside ``[start, end)``; the document order of repeats is kept by
        counting how many times the same value was looked up (outside any block)."""
        stop = len(self.raw) if end is None else end
        in_block = start > 0 or end is not None
        nth = 0 if in_block else self._seen[value]
        if not in_block:
            self._seen[value] += 1
        for candidate in self._candidates(value):
            offset = self._find_nth(candidate, start, stop, nth)
            if offset < 0 and nth:
                offset = self._find_nth(candidate, start, stop, 0)
            if offset >= 0:
                return self.line_of(offset)
        if key is not None:
            offset = self.find_key(key, start, stop)
            if offset >= 0:
                return self.line_of(offset)
        return self.line_of(start)
