"""The agreement wording: the section files match the command words, never ask for a safety
contract, and every message the agreement code can say exists."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.config import DEFAULT_PROMPTS_DIR
from bot.features.agreements import state
from bot.features.agreements.commands import COMMANDS, SECTION_KEYS, SECTIONS, SPACE_KEYS
from bot.features.dialogs import COMMANDS as DIALOG_COMMANDS
from bot.features.resources import COMMANDS as RESOURCE_COMMANDS
from bot.texts.catalog import Catalog
from bot.texts.lint import lint_file

ROOT = Path(__file__).resolve().parents[3]
EN = DEFAULT_PROMPTS_DIR / "en"
CODE = [
    *sorted((ROOT / "bot" / "features" / "agreements").glob("*.py")),
    ROOT / "bot" / "features" / "dialogs.py",
    ROOT / "bot" / "features" / "resources.py",
]
# Things no agreement text may ask for (PRODUCT.md §1-2: no safety contracts).
CONTRACT_WORDS = re.compile(
    r"\bpromise\b|\bare you safe\b|\bkeep (yourself|you) safe\b|\bharm (yourself|themselves)\b|\bsafety plan\b"
    r"|\bcontract\b|\bguarantee\b|\bmust\b|\byou should\b"
    # Issue 14: nor a promise about one's own safety in other words, nor contract-like phrases.
    r"|\b(stay|staying|keep|keeping) (yourself |myself )?safe\b|\bcommit(ment)? to\b|\bpledge\b|\bswear\b"
    r"|\b(you|I)('ll| will) (not|never) (hurt|harm)\b|\bagree to (call|contact|tell|reach)\b|\bsafety (agreement|contract)\b"
    r"|\bin force\b|\bcounts as (your|their|agreeing)\b|\bbinding\b|\bobliged\b",
    re.IGNORECASE,
)


def load(name: str) -> dict:
    return tomllib.loads((EN / name).read_text(encoding="utf-8"))


def test_the_fourteen_sections_match_the_command_words():
    sections = load("agreement.toml")["section"]
    assert [s["number"] for s in sections] == list(range(1, 15))
    assert tuple(s["key"] for s in sections) == SECTION_KEYS
    # Storage slots never move: the first eleven sections keep 1-11, later ones take new ones.
    assert sorted(slot for _, slot in SECTIONS) == list(range(1, 15))
    old = ("safe", "noticing", "helped", "not-helpful", "offer", "checking-in", "repair", "disagree",
           "confidentiality", "involve", "revisit")
    assert {key: slot for key, slot in SECTIONS if slot <= 11} == {key: n for n, key in enumerate(old, start=1)}
    for section in sections:
        # "section 14, <title>" fits a Discord form label (45 characters) whole.
        assert "?" in section["question"] and len(f"section {section['number']}, {section['title']}") <= 45


def test_the_space_template_matches_its_command_words():
    sections = load("space_agreement.toml")["section"]
    assert tuple(s["key"] for s in sections) == SPACE_KEYS
    assert [s["number"] for s in sections] == list(range(1, len(SPACE_KEYS) + 1))
    assert all(s["text"] for s in sections if s["key"] != "duty-of-care")


@pytest.mark.parametrize("name", ["agreement.toml", "space_agreement.toml", "messages_agreements.toml"])
def test_no_safety_contract_and_no_avoided_words(name):
    assert lint_file(EN / name) == []
    found = [text for text in _strings(load(name)) if CONTRACT_WORDS.search(text)]
    assert found == []


def test_each_section_is_an_open_invitation_never_a_promise_about_ones_own_safety():
    """Every one of the fourteen sections (the new ones too: what matters, if one of us is
    worried, afterwards): an open question with an example or two of what people write, asking
    for something between equals, never a promise about one's own safety."""
    sections = load("agreement.toml")["section"]
    assert len(sections) == 14
    for section in sections:
        question = section["question"]
        assert not CONTRACT_WORDS.search(question), section["key"]
        assert question.split()[0].rstrip(",") in ("What", "How", "Who", "When", "If", "After"), section["key"]
        assert re.search(r"\b(Some|People) write\b", question) and question.count('\"') >= 2, section["key"]
    worried = next(s for s in sections if s["key"] == "if-worried")["question"]
    assert "what would you want the other to do" in worried and "without asking you first" in worried
    for bad in ("I promise to stay safe", "Will you keep yourself safe?", "I'll never harm myself",
                "agree to call the crisis line", "It's in force meanwhile", "Making it counts as your acceptance"):
        assert CONTRACT_WORDS.search(bad), bad


def _strings(value) -> list[str]:
    """Every string the bot could say from a parsed TOML file (comments are not said)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _keys_in_code() -> set[str]:
    keys: set[str] = set()
    pattern = re.compile(r"""["']((?:agreement|space_agreement|resources|dialog|commands)\.[a-z_0-9]+)["']""")
    for path in CODE:
        keys.update(pattern.findall(path.read_text(encoding="utf-8")))
    purposes = {"agreement.draft", "agreement.version", "agreement.invite", "agreement.withdraw",
                "dialog.data", "space_agreement.objection"}
    return keys - purposes


def _dynamic_keys() -> set[str]:
    keys = {f"agreement.status_{s.value}" for s in state.Status}
    keys |= {f"agreement.form_part_{n}" for n in (1, 2, 3)}
    pair_reasons = {v for k, v in vars(state).items() if k.isupper() and isinstance(v, str) and not k.startswith("ROUND")}
    keys |= {f"agreement.refused_{r}" for r in pair_reasons - {state.NO_SUCH}}
    round_reasons = {v for k, v in vars(state).items() if k.startswith("ROUND_") and isinstance(v, str)}
    keys |= {f"space_agreement.refused_{r}" for r in round_reasons}
    keys |= {f"space_agreement.decided_{s}" for s in ("adopted", "not_adopted")}
    keys |= {f"space_agreement.how_{h}" for h in ("draft", "consent", "facilitator")}
    keys |= {f"resources.policy_{p}" for p in ("never_without_consent", "may_contact_emergency_services", "unknown")}
    kinds = ("started", "joined", "declined", "proposed", "amended", "accepted", "agreed", "revisit",
             "withdrawn", "review_reminder", "checked_in")
    keys |= {f"agreement.history_{k}" for k in kinds}
    return keys


def test_every_message_the_code_can_say_exists():
    catalog = Catalog(DEFAULT_PROMPTS_DIR)
    specs = (*COMMANDS, *DIALOG_COMMANDS, *RESOURCE_COMMANDS)
    needed = _keys_in_code() | _dynamic_keys() | {spec.summary_key for spec in specs}
    needed |= {f"help.group.{spec.group.replace('-', '_')}" for spec in specs}
    missing = sorted(key for key in needed if not catalog.has(key))
    assert missing == []
    for spec in specs:
        assert len(catalog.text("en", spec.summary_key)) <= 100  # Discord's limit


def test_every_event_kind_recorded_has_a_history_line():
    recorded = set()
    for path in CODE:
        recorded.update(re.findall(r'repo\.event\(\s*tx,\s*[^,]+,\s*[^,]+,\s*[^,]+,\s*"(\w+)"', path.read_text()))
    assert recorded, "no events found"
    catalog = Catalog(DEFAULT_PROMPTS_DIR)
    assert sorted(k for k in recorded if not catalog.has(f"agreement.history_{k}")) == []
