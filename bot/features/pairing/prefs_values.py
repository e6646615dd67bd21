"""A member's pairing preferences as stored (`StoredPrefs`), and reading what a member typed into
them. Pure: no I/O. Every reading either returns a value or raises a Refusal that names what was
wrong and what would work, so bad input changes nothing.

The timezone is kept as the member gave it (an IANA name, or a UTC offset) and turned into minutes
east of UTC only when a grouping is made (`StoredPrefs.at`), so summer time counts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import available_timezones

from bot.errors import Refusal
from bot.features.pairing.preferences import Preferences, Slot, Style, utc_offset

FIELDS = ("languages", "timezone", "free", "style")
MAX_LANGUAGES = 8

# ISO 639-1 (two letters), and a few ISO 639-3 codes for languages people often name that have no
# two-letter code, sign languages first among them.
_ISO_639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu
    hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg
    li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os
    pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg
    th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu""".split()
)
_THREE_LETTER = frozenset(
    "ase bfi asf fsl gsg isg nzs sgn csl jsl lsf yue cmn fil haw ckb nds gsw sco".split()
)
LANGUAGE_CODES = _ISO_639_1 | _THREE_LETTER

_SLOT_WORDS = {
    "weekday mornings": Slot.WEEKDAY_MORNINGS,
    "weekday afternoons": Slot.WEEKDAY_AFTERNOONS,
    "weekday evenings": Slot.WEEKDAY_EVENINGS,
    "weekends": Slot.WEEKENDS,
}
_STYLE_WORDS = {"lighter": Style.LIGHTER, "light": Style.LIGHTER, "deeper": Style.DEEPER, "deep": Style.DEEPER}
_OFFSET = re.compile(r"^(?:utc|gmt)\s*([+-])(\d{1,2})(?::?(\d{2}))?$|^([+-])(\d{1,2})(?::?(\d{2}))?$", re.I)


@dataclass(frozen=True)
class StoredPrefs:
    """What a member set, as they set it; every field may be unset (empty or None)."""

    languages: tuple[str, ...] = ()
    timezone: str | None = None
    free: tuple[str, ...] = ()  # Slot values, in Slot order
    style: str | None = None  # Style value

    @property
    def is_set(self) -> bool:
        return bool(self.languages or self.free) or self.timezone is not None or self.style is not None

    def at(self, now: datetime) -> Preferences:
        """For a grouping made at `now`: the timezone as an offset at that instant."""
        return Preferences(
            languages=frozenset(self.languages),
            utc_offset_minutes=None if self.timezone is None else utc_offset(self.timezone, now),
            free=frozenset(Slot(value) for value in self.free),
            style=None if self.style is None else Style(self.style),
        )

    def to_json(self) -> str:
        return json.dumps(
            {"languages": list(self.languages), "timezone": self.timezone, "free": list(self.free), "style": self.style}
        )

    @classmethod
    def from_json(cls, text: str) -> StoredPrefs:
        data = json.loads(text)
        return cls(
            tuple(data.get("languages") or ()),
            data.get("timezone"),
            tuple(data.get("free") or ()),
            data.get("style"),
        )

    def cleared(self, field: str) -> StoredPrefs:
        return StoredPrefs(
            () if field == "languages" else self.languages,
            None if field == "timezone" else self.timezone,
            () if field == "free" else self.free,
            None if field == "style" else self.style,
        )


def _items(text: str) -> list[str]:
    return [item.strip() for item in re.split(r"[,;]|\band\b", text.lower()) if item.strip()]


def read_languages(text: str) -> tuple[str, ...]:
    """"en, es" or "en es" (a regional tag such as pt-BR counts as its language): codes, in the
    order given, without repeats."""
    codes: list[str] = []
    for word in re.split(r"[\s,;]+", text.strip()):
        if not word or word.lower() == "and":
            continue
        base = word.lower().replace("_", "-").split("-")[0]
        if base not in LANGUAGE_CODES:
            raise Refusal("pairing.prefs_bad_language", given=word[:20])
        if base not in codes:
            codes.append(base)
    if not codes:
        raise Refusal("pairing.prefs_bad_language", given=text.strip()[:20])
    if len(codes) > MAX_LANGUAGES:
        raise Refusal("pairing.prefs_too_many_languages", max=MAX_LANGUAGES)
    return tuple(codes)


@cache
def _zones_by_lower() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def read_timezone(text: str, now: datetime) -> str:
    """An IANA name (any letter case: "europe/madrid") or a UTC offset ("UTC+5:30", "-3"), in the
    form it is kept: the zone's own spelling, or "UTC+05:30"."""
    given = text.strip()
    found = _OFFSET.match(given)
    if found:
        sign, hours, minutes = found.group(1) or found.group(4), found.group(2) or found.group(5), found.group(3) or found.group(6)
        offset = f"UTC{sign}{int(hours):02d}:{minutes or '00'}"
        if utc_offset(offset, now) is None:
            raise Refusal("pairing.prefs_bad_timezone", given=given[:40])
        return "UTC" if utc_offset(offset, now) == 0 else offset
    if given.lower() in ("utc", "gmt", "z"):
        return "UTC"
    name = _zones_by_lower().get(given.lower()) if len(given) <= 60 else None
    if name is None or utc_offset(name, now) is None:
        raise Refusal("pairing.prefs_bad_timezone", given=given[:40])
    return name


def read_free(text: str) -> tuple[str, ...]:
    """"weekday evenings, weekends": the slots, in their usual order (singulars are fine)."""
    chosen: set[Slot] = set()
    for item in _items(text):
        words = " ".join(word if word.endswith("s") else word + "s" for word in item.split())
        words = words.replace("weekdays ", "weekday ")
        slot = _SLOT_WORDS.get(words)
        if slot is None:
            raise Refusal("pairing.prefs_bad_free", given=item[:40])
        chosen.add(slot)
    if not chosen:
        raise Refusal("pairing.prefs_bad_free", given=text.strip()[:40])
    return tuple(slot.value for slot in Slot if slot in chosen)


def read_style(text: str) -> str:
    style = _STYLE_WORDS.get(text.strip().lower())
    if style is None:
        raise Refusal("pairing.prefs_bad_style", given=text.strip()[:40])
    return style.value


def read_field(text: str) -> str:
    word = text.strip().lower()
    if word not in FIELDS:
        raise Refusal("pairing.prefs_bad_field", given=text.strip()[:40])
    return word
