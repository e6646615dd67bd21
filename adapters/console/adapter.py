"""The console adapter: several simulated members typing into one demo community, on a simulated
clock. It doubles as the in-process test harness (feed lines, read the transcript)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from adapters.console.settings import ConsoleSettings
from adapters.console.traits import TRAITS
from bot.app import App, FakeClock, SimulatedDriver
from bot.context import Actor, ChannelVerdict, CommunityRef, Invocation
from bot.replies import (
    ActionButtons,
    Answer,
    ChannelPost,
    ConfirmPrompt,
    Delivery,
    FormRequest,
    Intent,
    PairSpaceClose,
    PairSpaceOpen,
    PairSpacePost,
    PrivateFile,
    PrivateMessage,
)

PLATFORM = "console"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
_DURATION = re.compile(r"^\+(\d{1,4})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def resolve_mention(token: str) -> str | None:
    """`@sam` -> "sam"."""
    name = token.removeprefix("@").lower()
    return name if token.startswith("@") and _NAME.match(name) else None


class ConsoleAdapter:
    def __init__(
        self,
        app: App,
        clock: FakeClock,
        driver: SimulatedDriver,
        settings: ConsoleSettings,
        write: Callable[[str], None],
    ) -> None:
        self.app = app
        self.clock = clock
        self.driver = driver
        self.settings = settings
        self.write = write
        self.community = CommunityRef(PLATFORM, settings.community, settings.community)
        self._languages: dict[str, str] = {}  # member -> the language of words to them alone
        self.member = settings.members[0] if settings.members else "alex"
        self.channel: str | None = settings.channel
        self.running = True
        app.register_platform(PLATFORM, TRAITS)
        app.attach_sink(self)
        app.register_checks(self)

    def t(self, key: str, /, **params: object) -> str:
        return self.app.catalog.text("en", key, **params)

    @property
    def where(self) -> str:
        return f"#{self.channel}" if self.channel else self.t("console.private_space")

    def prompt(self) -> str:
        return f"[{self.where}] {self.member}> "

    async def start(self) -> None:
        for name in self.settings.members:
            await self.app.context(self.invocation(name))
        await self.app.start()

    async def invocation_async(self, name: str) -> Invocation:
        return self.invocation(name, await self._is_facilitator(name))

    def invocation(self, name: str, facilitator: bool = False) -> Invocation:
        return Invocation(
            community=self.community,
            actor=Actor(name, name, facilitator),
            channel=self.channel,
            private=self.channel is None,
            prefix="/",
        )

    async def _is_facilitator(self, name: str) -> bool:
        community = await self.app.community(PLATFORM, self.community.external_id)
        return self._facilitator(name, community.facilitator_rule if community else "")

    def _facilitator(self, name: str, rule: str) -> bool:
        if rule.startswith("members:"):
            return name in rule.removeprefix("members:").split(",")
        return name in self.settings.facilitators

    # -- what only the platform knows (asked by `setup`) ---------------------------------------

    @property
    def channels(self) -> list[str]:
        """The simulated space's channels: the one it starts in and `[console] channels`."""
        return list(dict.fromkeys([self.settings.channel, *self.settings.channels]))

    async def check_channel(self, community: str, value: str) -> ChannelVerdict:
        name = value.lower()
        return ChannelVerdict(name) if name in self.channels else ChannelVerdict(None, "missing")

    async def facilitator_under(self, community: str, user_id: str, rule: str) -> bool | None:
        return self._facilitator(user_id, rule)

    # -- input ---------------------------------------------------------------------------------

    async def handle_line(self, line: str) -> None:
        line = line.rstrip("\n")
        if not line.strip():
            return
        stripped = line.strip()
        if not stripped.startswith("/"):
            await self._plain(stripped)
            return
        word, _, rest = stripped[1:].partition(" ")
        control = {"as": self._as, "in": self._in, "clock": self._clock, "quit": self._quit}.get(word.lower())
        if control is not None:
            await control(rest.strip())
            return
        inv = await self.invocation_async(self.member)
        intents = await self.app.handle_text(inv, stripped[1:], resolve_mention)
        await self._learn_languages(intents)
        self.show(self.member, intents)
        await self.app.deliver_pending()

    async def _plain(self, text: str) -> None:
        # Chat between members is not the bot's business; only an open step-by-step answer
        # (a form the member asked for) is read, and only in their private space.
        handler = getattr(self.app, "handle_plain", None)
        if handler is None:
            return
        inv = await self.invocation_async(self.member)
        intents = await handler(inv, text)
        await self._learn_languages(intents)
        self.show(self.member, intents)
        await self.app.deliver_pending()

    async def _as(self, name: str) -> None:
        name = name.removeprefix("@").lower()
        if not _NAME.match(name):
            self.write(self.t("console.bad_name"))
            return
        self.member = name
        await self.app.context(await self.invocation_async(name))
        self.write(self.t("console.now_typing", member=name))

    async def _in(self, where: str) -> None:
        where = where.strip().lower()
        if where in ("private", "dm", "@me"):
            self.channel = None
        elif where.removeprefix("#") in self.channels:
            self.channel = where.removeprefix("#")
        else:
            # Only the simulated space's channels exist: say which, and stay where you are.
            known = ", ".join(f"#{name}" for name in self.channels)
            self.write(self.t("console.bad_channel", given=where[:40], channels=known))
            return
        self.write(self.t("console.now_in", where=self.where))

    async def _clock(self, text: str) -> None:
        match = _DURATION.match(text.strip())
        if not match:
            self.write(self.t("console.bad_duration"))
            return
        delta = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        await self.driver.advance(delta, after_each=self.app.deliver_pending)
        self.write(self.t("console.clock", now=f"{self.app.catalog.formats('en').when(self.clock.now())} UTC"))

    async def _quit(self, _: str) -> None:
        self.running = False

    # -- output --------------------------------------------------------------------------------

    def show(self, member: str, intents: list[Intent]) -> None:
        for intent in intents:
            if isinstance(intent, Answer):
                if intent.private:
                    self._private(member, intent.text)
                else:
                    self.write(f"[{self.where}] Alongside: {intent.text}")
            else:
                self.render(intent)

    def _private(self, member: str, text: str) -> None:
        lines = text.splitlines() or [""]
        self.write(f"  ({self.t('console.private_to', member=member)}) {lines[0]}")
        for extra in lines[1:]:
            self.write(f"    {extra}")

    def render(self, intent: Intent) -> None:
        match intent:
            case ChannelPost():
                first, *rest = intent.text.splitlines() or [""]
                self.write(f"[#{intent.channel}] Alongside: {first}")
                for extra in rest:
                    self.write(f"    {extra}")
                if intent.thread_title:
                    self.write("  " + self.t("console.thread_opened", title=intent.thread_title))
                if intent.pin:
                    self.write("  " + self.t("console.pinned"))
            case PrivateMessage():
                self._private(intent.user_id, intent.text)
            case ConfirmPrompt():
                hint = self.app.catalog.text(self._languages.get(intent.user_id, "en"), "console.confirm_hint")
                self._private(intent.user_id, intent.text + "\n" + hint)
            case FormRequest():
                self._private(intent.user_id, intent.text)
            case ActionButtons():
                self._private(intent.user_id, intent.text)
            case PairSpaceOpen():
                members = ", ".join(intent.member_ids)
                self.write(f"[{self.t('console.pair_space', key=intent.space_key, members=members)}] {intent.text}")
            case PairSpacePost():
                self.write(f"[{self.t('console.pair_space_short', key=intent.space_key)}] {intent.text}")
            case PairSpaceClose():
                self.write(f"[{self.t('console.pair_space_short', key=intent.space_key)}] {intent.text}")
            case PrivateFile():
                self._private(intent.user_id, intent.text)
                self.write(f"    --- {intent.filename} ---")
                for line in intent.content.splitlines():
                    self.write(f"    {line}")
            case Answer():
                self._private(self.member, intent.text)

    async def deliver(self, delivery: Delivery) -> None:
        await self._learn_languages([delivery.intent])
        self.render(delivery.intent)

    async def _learn_languages(self, intents: list[Intent]) -> None:
        """The console's own hint under a yes/no question is written to one member, so in the
        language the core says is theirs (rendering itself is synchronous, so it is looked up first)."""
        for intent in intents:
            if isinstance(intent, ConfirmPrompt):
                self._languages[intent.user_id] = await self.app.member_locale(
                    PLATFORM, self.community.external_id, intent.user_id
                )
