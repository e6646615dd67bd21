"""A pair agreement's content: one JSON document, used for the working copy and for each version:

    {"answers": {"<member id>": {"<section 1-11>": "text"}},
     "notes": {"<author id>": {"<about id>": {"<section>": "text"}}},
     "review_date": "YYYY-MM-DD" | null}

Its content hash (over the canonical JSON plus the parties) is what "everyone accepted the same
version" compares. Pure functions: no storage here.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

DATE_STEP = "date"


# -- content -----------------------------------------------------------------------------------


def empty_content() -> dict[str, Any]:
    return {"answers": {}, "notes": {}, "review_date": None}


def normalised(content: dict[str, Any]) -> dict[str, Any]:
    """Drop empty answers and empty tables so equal content always hashes the same."""
    answers = {
        member: {section: text for section, text in sections.items() if text}
        for member, sections in content.get("answers", {}).items()
    }
    notes: dict[str, dict[str, dict[str, str]]] = {}
    for author, abouts in content.get("notes", {}).items():
        for about, sections in abouts.items():
            kept = {section: text for section, text in sections.items() if text}
            if kept:
                notes.setdefault(author, {})[about] = kept
    return {
        "answers": {member: sections for member, sections in answers.items() if sections},
        "notes": notes,
        "review_date": content.get("review_date") or None,
    }


def content_hash(content: dict[str, Any], parties: frozenset[int] | set[int]) -> str:
    canonical = json.dumps(
        {"content": normalised(content), "parties": sorted(parties)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def is_empty(content: dict[str, Any]) -> bool:
    tidy = normalised(content)
    return not tidy["answers"] and not tidy["notes"]


def parse_step(step: str) -> tuple[str, int | None]:
    """"3" -> ("3", None); "3@12" -> ("3", 12) (a note on member 12's answer); "date"."""
    section, _, about = step.partition("@")
    return section, int(about) if about else None


def get_step(content: dict[str, Any], member_id: int, step: str) -> str | None:
    if step == DATE_STEP:
        return content.get("review_date") or None
    section, about = parse_step(step)
    if about is None:
        return content.get("answers", {}).get(str(member_id), {}).get(section) or None
    return content.get("notes", {}).get(str(member_id), {}).get(str(about), {}).get(section) or None


def set_step(content: dict[str, Any], member_id: int, step: str, text: str | None) -> dict[str, Any]:
    changed = copy.deepcopy(content)
    if step == DATE_STEP:
        changed["review_date"] = text or None
        return normalised(changed)
    section, about = parse_step(step)
    if about is None:
        changed.setdefault("answers", {}).setdefault(str(member_id), {})[section] = text or ""
    else:
        notes = changed.setdefault("notes", {}).setdefault(str(member_id), {})
        notes.setdefault(str(about), {})[section] = text or ""
    return normalised(changed)


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Which sections changed, by whom: section numbers only, never text."""
    old, new = normalised(old), normalised(new)
    answers: dict[str, list[int]] = {}
    for member in sorted(set(old["answers"]) | set(new["answers"]), key=int):
        before, after = old["answers"].get(member, {}), new["answers"].get(member, {})
        sections = sorted(int(s) for s in set(before) | set(after) if before.get(s) != after.get(s))
        if sections:
            answers[member] = sections
    notes: list[list[int]] = []
    authors = set(old["notes"]) | set(new["notes"])
    for author in sorted(authors, key=int):
        abouts = set(old["notes"].get(author, {})) | set(new["notes"].get(author, {}))
        for about in sorted(abouts, key=int):
            before = old["notes"].get(author, {}).get(about, {})
            after = new["notes"].get(author, {}).get(about, {})
            for section in sorted({int(s) for s in set(before) | set(after) if before.get(s) != after.get(s)}):
                notes.append([int(author), int(about), section])
    detail: dict[str, Any] = {}
    if answers:
        detail["answers"] = answers
    if notes:
        detail["notes"] = notes
    if old["review_date"] != new["review_date"]:
        detail["review_date"] = True
    return detail
