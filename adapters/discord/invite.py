"""The permissions Alongside asks for when it is added to a server, and why each one.

The smallest set that lets it do its work. It is never given Administrator, Manage Messages,
Manage Threads (which would let it see every private thread), or any member-list access.
"""

from __future__ import annotations

from urllib.parse import urlencode

SCOPES = ("bot", "applications.commands")

# name → (bit, why Alongside needs it)
PERMISSIONS: dict[str, tuple[int, str]] = {
    "View Channels": (10, "see the question and pairing channels it posts in"),
    "Send Messages": (11, "post reflective questions and pairing announcements"),
    "Read Message History": (16, "act on its own earlier posts: pin one, start a thread on one"),
    "Create Public Threads": (35, "open a thread under each posted question for replies"),
    "Create Private Threads": (36, "give each pair a private thread in the pairing channel"),
    "Send Messages in Threads": (38, "post in a pair's thread (check-ins, the round's end)"),
    "Pin Messages": (51, "pin the space agreement where everyone can find it"),
}

PERMISSION_INTEGER = sum(1 << bit for bit, _ in PERMISSIONS.values())


def invite_url(application_id: int | str) -> str:
    query = urlencode(
        {"client_id": str(application_id), "scope": " ".join(SCOPES), "permissions": str(PERMISSION_INTEGER)}
    )
    return f"https://discord.com/oauth2/authorize?{query}"
