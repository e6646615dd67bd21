"""Pairing's commands, declared once (PRODUCT.md §5); every adapter surfaces these specs."""

from __future__ import annotations

from bot.commands.spec import Arg, ArgType, CommandSpec, Where, Who

PREF_SETTINGS = ("languages", "timezone", "free", "style", "clear")
PREF_VALUE_WORDS = ("lighter", "deeper", "light", "deep", "languages", "timezone", "free", "style")

COMMANDS = (
    CommandSpec("pair join", "commands.pair_join"),
    CommandSpec("pair leave", "commands.pair_leave"),
    CommandSpec(
        "pair pause",
        "commands.pair_pause",
        (Arg("days", ArgType.INT, required=False, min=1, max=365),),
    ),
    CommandSpec("pair resume", "commands.pair_resume"),
    CommandSpec(
        "pair not-with",
        "commands.pair_not_with",
        (
            Arg("member", ArgType.MEMBER),
            Arg("remove", ArgType.CHOICE, required=False, choices=("remove",)),
        ),
        where=Where.PRIVATE,
    ),
    # `pair prefs` alone shows them; a setting and its value sets one; `clear` [setting] clears.
    CommandSpec(
        "pair prefs",
        "commands.pair_prefs",
        (
            Arg("setting", ArgType.CHOICE, required=False, choices=PREF_SETTINGS),
            # a style (`lighter`, `deeper`) or, after `clear`, the setting to clear: in any locale
            Arg("value", ArgType.TEXT, required=False, max=200, words=PREF_VALUE_WORDS),
        ),
        where=Where.PRIVATE,
    ),
    # Alone: the member's own wishes. A wish counts only when the other person asked too.
    CommandSpec(
        "pair again",
        "commands.pair_again",
        (
            Arg("member", ArgType.MEMBER, required=False),
            Arg("remove", ArgType.CHOICE, required=False, choices=("remove",)),
        ),
        where=Where.PRIVATE,
    ),
    CommandSpec("pair status", "commands.pair_status"),
    CommandSpec("pair end", "commands.pair_end", who=Who.PARTIES),
    CommandSpec(
        "pair schedule",
        "commands.pair_schedule",
        # A recurrence, then optionally a timezone and "from YYYY-MM-DD" (the first round's date).
        (Arg("recurrence", ArgType.TEXT, min=5, max=200),),
        who=Who.FACILITATOR,
        autocomplete=("recurrence",),
    ),
    CommandSpec("pair now", "commands.pair_now", who=Who.FACILITATOR),
    CommandSpec("pair cancel", "commands.pair_cancel", who=Who.FACILITATOR),
    CommandSpec("pair stats", "commands.pair_stats", who=Who.FACILITATOR),
)
# Owned by `CheckinFeature`, which every feature's check-ins are answered through; shown right
# after pairing's commands.
CHECKIN_COMMANDS = (
    CommandSpec(
        "checkin",
        "commands.checkin",
        # `skip`/`done` as the whole answer, `share` before it: in any locale's words
        (Arg("answer", ArgType.TEXT, required=False, max=1000, words=("skip", "done"), leading=("share",)),),
        who=Who.PARTIES,
        where=Where.PRIVATE,
    ),
)
