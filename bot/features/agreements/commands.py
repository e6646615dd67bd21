"""The `agreement` and `space-agreement` commands, declared once as data.

Commands that act on one pair agreement take an optional id first (`#K7M2Q` or `K7M2Q`); it is
only needed when the member is in more than one agreement. A section word or number is never an
id, so `agreement edit 3 my words` and `agreement edit #K7M2Q 3 my words` both read as meant.
Discord surfaces the same specs as options (id, section, member, text).
"""

from __future__ import annotations

from bot.commands.spec import Arg, ArgType, CommandSpec, Who

# The fourteen pair-agreement sections in the order they are asked (PRODUCT.md §4), each as
# (short name, storage slot). prompts/<locale>/agreement.toml gives each its title and question;
# the short names are command words, the same in every locale. Answers are stored, and content
# hashes computed, under the slot, never the position: the eleven sections of the first agreements
# keep slots 1-11 and sections added later take new slots, so an agreement made before them keeps
# its content and its hash, and the new sections simply start empty.
SECTIONS = (
    ("matters", 12),
    ("safe", 1),
    ("noticing", 2),
    ("helped", 3),
    ("not-helpful", 4),
    ("if-worried", 13),
    ("afterwards", 14),
    ("offer", 5),
    ("checking-in", 6),
    ("repair", 7),
    ("disagree", 8),
    ("confidentiality", 9),
    ("involve", 10),
    ("revisit", 11),
)
SECTION_KEYS = tuple(key for key, _ in SECTIONS)
DATE_KEY = "revisit-date"  # the agreement's review date, set like a section
SECTION_CHOICES = (*(str(n) for n in range(1, len(SECTION_KEYS) + 1)), *SECTION_KEYS, DATE_KEY)

# The space agreement's sections (prompts/<locale>/space_agreement.toml).
SPACE_KEYS = (
    "purpose",
    "talk",
    "confidentiality",
    "conflict",
    "facilitators",
    "duty-of-care",
    "changes",
    "review",
)


def _id() -> Arg:
    return Arg("id", ArgType.WORD, required=False)


def _section() -> Arg:
    return Arg("section", ArgType.CHOICE, required=False, choices=SECTION_CHOICES)


COMMANDS = (
    CommandSpec(
        "agreement start",
        "commands.agreement_start",
        (
            Arg("member", ArgType.MEMBER),
            Arg("member2", ArgType.MEMBER, required=False),
            # Naming yourself among the parties is ignored, so a pair space's welcome can name
            # everyone in it (three people in a triad) and still work as written.
            Arg("member3", ArgType.MEMBER, required=False),
        ),
        # More names than that: the kind "two or three people" answer, not a parse error.
        too_many_key="agreement.start_too_many",
    ),
    CommandSpec(
        "agreement edit",
        "commands.agreement_edit",
        (_id(), _section(), Arg("text", ArgType.TEXT, required=False)),
        who=Who.PARTIES,
    ),
    CommandSpec("agreement propose", "commands.agreement_propose", (_id(),), who=Who.PARTIES),
    CommandSpec("agreement view", "commands.agreement_view", (_id(),), who=Who.PARTIES),
    # The version names what the member read (`agreement accept #K7M2Q v2`): a bare accept, or
    # one naming a replaced version, shows the version out for acceptance and accepts nothing.
    CommandSpec(
        "agreement accept",
        "commands.agreement_accept",
        (_id(), Arg("version", ArgType.WORD, required=False)),
        who=Who.PARTIES,
    ),
    CommandSpec(
        "agreement amend",
        "commands.agreement_amend",
        (
            _id(),
            _section(),
            Arg("member", ArgType.MEMBER, required=False),
            Arg("text", ArgType.TEXT, required=False),
        ),
        who=Who.PARTIES,
    ),
    CommandSpec("agreement revisit", "commands.agreement_revisit", (_id(),), who=Who.PARTIES),
    CommandSpec("agreement withdraw", "commands.agreement_withdraw", (_id(),), who=Who.PARTIES),
    CommandSpec("agreement history", "commands.agreement_history", (_id(),), who=Who.PARTIES),
    # About the member themselves: whether others may invite them to negotiate an agreement.
    CommandSpec(
        "agreement invitations",
        "commands.agreement_invitations",
        (Arg("setting", ArgType.CHOICE, required=False, choices=("on", "off")),),
    ),
    CommandSpec("space-agreement show", "commands.space_agreement_show"),
    CommandSpec(
        "space-agreement propose",
        "commands.space_agreement_propose",
        (Arg("section", ArgType.WORD, words=SPACE_KEYS), Arg("text", ArgType.TEXT)),
    ),
    CommandSpec("space-agreement changes", "commands.space_agreement_changes"),
    CommandSpec(
        "space-agreement agree", "commands.space_agreement_agree", (Arg("id", ArgType.INT, min=1, max=1_000_000),)
    ),
    CommandSpec(
        "space-agreement object",
        "commands.space_agreement_object",
        (Arg("id", ArgType.INT, min=1, max=1_000_000), Arg("note", ArgType.TEXT)),
    ),
    # The proposer takes back their own open change (nobody else can).
    CommandSpec(
        "space-agreement withdraw",
        "commands.space_agreement_withdraw",
        (Arg("id", ArgType.INT, min=1, max=1_000_000),),
    ),
    CommandSpec("space-agreement draft", "commands.space_agreement_draft", who=Who.FACILITATOR),
    CommandSpec(
        "space-agreement adopt",
        "commands.space_agreement_adopt",
        (Arg("id", ArgType.INT, min=1, max=1_000_000),),
        who=Who.FACILITATOR,
    ),
)
