"""docs/discord.md states the exact invite URL and the minimal permissions, with a reason for
each, and the privacy-policy template covers what is stored, why, where, how long, and how to
export or erase it."""

from __future__ import annotations

from pathlib import Path

from adapters.discord.invite import PERMISSION_INTEGER, PERMISSIONS, SCOPES, invite_url

DOC = (Path(__file__).resolve().parents[2] / "docs" / "discord.md").read_text(encoding="utf-8")


def test_the_permission_integer_is_the_sum_of_the_listed_permissions() -> None:
    assert PERMISSION_INTEGER == 2252177770875904
    assert PERMISSION_INTEGER == sum(1 << bit for bit, _ in PERMISSIONS.values())
    # nothing that would let the bot read or manage more than it needs
    for bit in (3, 5, 13, 34):  # Administrator, Manage Server, Manage Messages, Manage Threads
        assert not PERMISSION_INTEGER & (1 << bit)


def test_the_doc_has_the_exact_invite_url_and_every_permission_with_its_reason() -> None:
    assert SCOPES == ("bot", "applications.commands")
    url = invite_url("APPLICATION_ID")
    assert url == (
        "https://discord.com/oauth2/authorize?client_id=APPLICATION_ID"
        f"&scope=bot+applications.commands&permissions={PERMISSION_INTEGER}"
    )
    assert url in DOC
    for name, (bit, why) in PERMISSIONS.items():
        assert f"| {name} | 1 << {bit} | {why} |" in DOC


def test_the_privacy_template_covers_what_discord_asks_for() -> None:
    template = DOC.split("## 7. A privacy policy you can adapt", 1)[1]
    for phrase in ("What it stores, and why", "Where.", "Kept", "deleted", "/mydata export", "/mydata forget", "encrypted"):
        assert phrase in template, phrase


def test_the_doc_covers_setup_sync_rule_and_service() -> None:
    for heading in ("Create the application", "Invite it", "Sync the commands", "Who is a facilitator", "as a service"):
        assert heading in DOC
