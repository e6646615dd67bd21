"""Where each feature's part in `mydata export/forget` and the retention purge lives (issue 15,
item 5): in the feature's own package, as `personal_data.py`, registered with mydata, so a
newcomer does not have to choose among `mydata.py`, `personal_data.py`, `core_data.py` and
`member_data.py` at the top of `bot/features/`."""

from __future__ import annotations

import re
from pathlib import Path

FEATURES = Path(__file__).resolve().parents[3] / "bot" / "features"
# A repository statement that names a member's rows: the package stores something about members.
BY_MEMBER = re.compile(r"\b(member_id|proposer_id|invitee_id|inviter_id)\b")


def _packages() -> list[Path]:
    return sorted(p for p in FEATURES.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def _stores_member_data(package: Path) -> bool:
    repos = [p for p in package.glob("*.py") if p.name == "repo.py" or p.name.endswith("_repo.py")]
    return any(BY_MEMBER.search(p.read_text(encoding="utf-8")) for p in repos)


def test_no_personal_data_module_at_the_top_of_features() -> None:
    loose = sorted(
        p.name
        for p in FEATURES.glob("*.py")
        if p.name.endswith("_data.py") or p.name in {"mydata.py", "personal_data.py"}
    )
    assert loose == []


def test_mydata_is_a_package() -> None:
    assert (FEATURES / "mydata" / "__init__.py").exists()


def test_every_package_storing_member_data_has_its_personal_data_module() -> None:
    storing = [p.name for p in _packages() if _stores_member_data(p)]
    assert {"agreements", "pairing", "questions"} <= set(storing)  # the rule sees what it is for
    missing = [name for name in storing if name != "mydata" and not (FEATURES / name / "personal_data.py").exists()]
    assert missing == []


def _modules_of(source: object) -> set[str]:
    """The module of a registered source's class, and of the parts it is made of (the core's
    source holds the questions feature's suggestions, so the export's "core" section keeps its
    shape)."""
    modules = {type(source).__module__}
    for part in vars(source).values():
        modules.add(type(part).__module__)
    return modules


async def test_each_personal_data_module_is_registered_with_mydata(harness) -> None:
    registered: set[str] = set()
    for source in harness.app.mydata.sources:
        registered |= _modules_of(source)
    expected = {
        f"bot.features.{p.name}.personal_data" for p in _packages() if (p / "personal_data.py").exists()
    }
    assert expected, "no feature package has a personal_data.py"
    assert expected <= registered
