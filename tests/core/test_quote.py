"""The quotation helper for member-written words in public posts (bot/texts/quote.py)."""

from __future__ import annotations

import re
import time

from hypothesis import given
from hypothesis import strategies as st

from bot.texts.quote import ZWSP, inert, inline, quote

MARKUP = "*_~`|[]()<>#-+.@&!:\\ \n\t1e"


def unescape(text: str) -> str:
    """Undo `inert`: what a reader sees once Discord has rendered the escapes."""
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", text.replace("@" + ZWSP, "@"))


def test_every_kind_of_markup_and_mention_is_made_inert():
    cases = {
        "**bold** and __under__ ~~gone~~ ||hidden|| `code`": (
            "\\*\\*bold\\*\\* and \\_\\_under\\_\\_ \\~\\~gone\\~\\~ \\|\\|hidden\\|\\| \\`code\\`"
        ),
        "# Heading": "\\# Heading",
        "### Small": "\\### Small",
        "-# subtext": "\\-# subtext",
        "> quoted": "\\> quoted",
        ">>> all the rest": "\\>>> all the rest",
        "- item": "\\- item",
        "+ item": "\\+ item",
        "12. item": "12\\. item",
        "  - indented": "  \\- indented",
        "[click](https://example.org)": "\\[click\\](https://example.org)",
        "<@123> <@!123> <@&45> <#67> <t:1700000000:R> </pair join:1>": (
            f"\\<@{ZWSP}123> \\<@{ZWSP}!123> \\<@{ZWSP}&45> \\<#67> \\<t:1700000000:R> \\</pair join:1>"
        ),
        "@everyone @here @room @sam:example.org": f"@{ZWSP}everyone @{ZWSP}here @{ZWSP}room @{ZWSP}sam:example.org",
        "a \\ backslash": "a \\\\ backslash",
    }
    for given_text, expected in cases.items():
        assert inert(given_text) == expected, given_text


def test_ordinary_words_are_left_as_typed():
    for text in (
        "We ask (gently) before offering advice; 3 > 2, and #hashtags stay.",
        "Don't rush: it's fine to pass. 100% okay — café, naïve, 日本語.",
        "An email: sam at example.org, and a time 18:00.",
        "1 is a number, -5 is too.",
    ):
        assert inert(text) == text


def test_a_quote_puts_each_line_after_a_marker_and_drops_trailing_blank_lines():
    assert quote("one\n\ntwo\n\n") == "> one\n>\n> two"
    assert quote("a\r\nb\rc\u2028d") == "> a\n> b\n> c\n> d"
    assert quote("# x") == "> \\# x"
    assert quote("") == quote(" \n ") == ""


def test_inline_keeps_a_name_on_one_line():
    assert inline("@everyone\n**x**") == f"@{ZWSP}everyone \\*\\*x\\*\\*"


@given(st.text(alphabet=st.sampled_from(MARKUP) | st.characters(codec="utf-8"), max_size=200))
def test_nothing_is_lost_and_nothing_stays_live(text):
    text = re.sub(r"\r\n?|[\u2028\u2029\x85]", "\n", text)
    made = inert(text)
    assert unescape(made) == text  # every word of the member's is still there, as written
    for line in made.split("\n"):
        # No unescaped inline marker, no live block marker, no mention syntax.
        assert re.search(r"(?<!\\)(?:\\\\)*[*_~`|\[\]<]", line) is None, line
        assert re.match(r"[ \t]*(#|-#|>+|-|\+|\d+\.)(\s|$|#)", line) is None, line
        assert re.search("@[\\w&!#:.\\-]", line) is None, line
    quoted = quote(text)
    if text.strip():
        assert all(line == ">" or line.startswith("> ") for line in quoted.split("\n"))


def test_it_is_linear_on_hostile_input():
    for text in ("*" * 64_000, "@" * 64_000, "\\" * 64_000, "<@" * 32_000, "# \n" * 16_000, "1" * 64_000 + "."):
        started = time.perf_counter()
        quote(text)
        assert time.perf_counter() - started < 0.5, text[:10]
