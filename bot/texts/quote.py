r"""Member-written words inside the bot's public posts: set apart as a quotation, made inert.

The bot posts some members' words in its own voice (a proposed change to the space agreement, an
approved suggested question, the adopted space agreement). Those words must never format the
post, pass for the bot's own text, or notify anyone. So:

* `quote(text)` puts each line on its own line after "> " (the quotation is visibly someone's
  words, apart from the prompt around it) and makes the text inert with `inert()`;
* `inert(text)` escapes markdown with a backslash where it could change the post: the inline
  markers \ * _ ~ ` | [ ] everywhere, `<` everywhere (Discord's `<@id>`, `<@&id>`, `<#id>`,
  `<t:…>` and `</cmd:id>` all open with it), and at the start of a line the block markers
  `#` (also `-#`), `>` (also `>>>`), `-`, `+` and `1.` (as `1\.`). Parentheses, and `>` or `#` inside a
  line, change nothing on their own, so they stay as typed (Matrix and the console show the text
  as it is, where every needless backslash would show);
* every `@` followed by a word gets a zero-width space after it, so `@everyone`, `@here`,
  `@room`, `@user:server` and `<@123>` are no longer mention syntax on any platform.

This is the core's layer; the adapters add the platforms' own no-ping flags (Discord
`allowed_mentions`, Matrix `m.mentions`), so either alone holds. Every pattern here is linear.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
_INLINE = str.maketrans({ch: "\\" + ch for ch in "\\*_~`|[]<"})
# A block marker at the start of a line (after any indentation): heading, subtext, quote, list.
_BLOCK = re.compile(r"^([ \t]*)(#|-#|>+|-|\+|\d+\.)(?=\s|$|#)")
_MENTION = re.compile(r"@(?=[\w&!#:.\-])")
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85]")


def _block(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    # A backslash escapes punctuation only: "1." becomes "1\." (a "\1" would show).
    escaped = f"{marker[:-1]}\\." if marker.endswith(".") else f"\\{marker}"
    return indent + escaped


def _line(line: str) -> str:
    line = line.translate(_INLINE)
    block = _BLOCK.match(line)
    if block is not None:
        line = _block(block) + line[block.end() :]
    return _MENTION.sub("@" + ZWSP, line) if "@" in line else line


def inert(text: str) -> str:
    """`text` with markdown and mention syntax escaped, line by line (no quotation marks)."""
    return "\n".join(_line(line) for line in _NEWLINES.sub("\n", text).split("\n"))


def inline(text: str) -> str:
    """Inert, on one line: for a member's name or a short phrase inside a sentence."""
    return _line(" ".join(text.split()))


def quote(text: str) -> str:
    """Member-written `text` as an inert quotation: each line after "> ", trailing blank lines
    dropped. Prompts put it on lines of its own."""
    if not text.strip():
        return ""
    lines = inert(text.strip("\n")).split("\n")
    return "\n".join(f"> {line}".rstrip() if line.strip() else ">" for line in lines)
