"""`alongside run --adapter matrix`: log in, build the core, sync until told to stop.

A wrong token, an unreachable homeserver or a bad `[matrix]` section raise ConfigError before
anything else starts; the CLI prints its one line and exits with code 2. SIGINT and SIGTERM
stop the bot gracefully: what was received is handled, what was queued is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta
from pathlib import Path

from adapters.matrix import PLATFORM
from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.client import crypto_store_key, login, open_client
from adapters.matrix.cross_signing import bootstrap
from adapters.matrix.key_backup import start_backup
from alongside.logging_setup import mask_secret
from alongside.runtime import build_core
from alongside.settings import Settings
from bot.clock import SystemClock
from bot.config import ConfigError
from bot.ownership import owns_platform
from bot.scheduling.timeline import RealtimeDriver

log = logging.getLogger(__name__)


async def run_matrix(settings: Settings, *, db_path: Path | None, seed: int) -> int:
    # Long: start-up in its one safe order (login, core, store, client), each failure closing the rest.
    # nio's own logs are chatty at INFO and could name rooms in detail; keep them to warnings.
    logging.getLogger("nio").setLevel(max(logging.WARNING, logging.getLogger().level))
    # The login is checked first (a wrong token or homeserver is one line, nothing else done);
    # then the core, whose database keeps the crypto store's pickle key; then the store.
    credentials = await login(settings.matrix, settings.matrix_access_token, settings.matrix_password)
    clock = SystemClock()
    # One process per bot account: it schedules its own platform's rooms only (bot/ownership.py),
    # leaving Discord servers in a shared store to the Discord processes.
    core = await build_core(
        settings, clock, db_path=db_path, seed=seed, instance="matrix", owns=owns_platform(PLATFORM)
    )
    client = None
    adapter: MatrixAdapter | None = None
    driver: RealtimeDriver | None = None
    try:
        pickle_key = await crypto_store_key(core.app.adapter_state(PLATFORM), core.app.cipher)
        mask_secret(pickle_key)
        client = await open_client(settings.matrix, credentials, pickle_key=pickle_key)
        # A device "verified by its owner" for members' apps (issue 16); never stops the bot.
        crossed = await bootstrap(
            client, core.app.adapter_state(PLATFORM), core.app.cipher, settings.matrix_password, on_secret=mask_secret
        )
        if crossed.problem:
            log.warning("%s", crossed.problem)
        # Room keys survive a lost store: a new store is filled from the backup before the
        # first sync, so commands sent before the loss are read (issue 16); never stops the bot.
        backup = await start_backup(client, core.app.adapter_state(PLATFORM), core.app.cipher, on_secret=mask_secret)
        driver = RealtimeDriver(
            core.timeline,
            clock,
            grace=timedelta(minutes=settings.scheduling.grace_minutes),
            after_each=core.app.deliver_pending,
        )
        adapter = MatrixAdapter(core.app, client, settings.matrix, clock=clock)
        adapter.key_backup = backup
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        driver.start()
        # Sharing the store with other processes: read their schedule changes, deliver what they left.
        driver.every(settings.processes.resync_seconds, core.app.upkeep)
        await adapter.start()
        log.info("connected to %s as %s (device %s)", settings.matrix.homeserver, client.user_id, client.device_id)
        stopping = asyncio.create_task(stop.wait())
        failed = asyncio.create_task(adapter.stopped.wait())
        await asyncio.wait({stopping, failed}, return_when=asyncio.FIRST_COMPLETED)
        for task in (stopping, failed):
            task.cancel()
        if adapter.fatal:
            raise ConfigError([adapter.fatal])
        log.info("stopping")
        return 0
    finally:
        if driver is not None:
            driver.shutdown()
        if adapter is not None:
            await adapter.stop()
        elif client is not None:
            await client.close()
        await core.close()


async def cross_sign(settings: Settings, *, db_path: Path | None, reset: bool) -> int:
    """`alongside matrix cross-sign [--reset]`: set up (or, with reset, replace) the bot's
    cross-signing keys and sign its device, then say what was done. A problem raises
    ConfigError (one line, exit 2)."""
    credentials = await login(settings.matrix, settings.matrix_access_token, settings.matrix_password)
    core = await build_core(settings, SystemClock(), db_path=db_path, seed=0)
    client = None
    try:
        pickle_key = await crypto_store_key(core.app.adapter_state(PLATFORM), core.app.cipher)
        mask_secret(pickle_key)
        client = await open_client(settings.matrix, credentials, pickle_key=pickle_key)
        outcome = await bootstrap(
            client, core.app.adapter_state(PLATFORM), core.app.cipher, settings.matrix_password, reset=reset, on_secret=mask_secret
        )
        if outcome.problem:
            raise ConfigError([outcome.problem])
        done = "new cross-signing keys uploaded; " if outcome.uploaded_keys else ""
        print(
            f"{done}device {client.device_id} of {client.user_id} is signed by its owner "
            f"(master key {outcome.master_key})"
        )
        return 0
    finally:
        if client is not None:
            await client.close()
        await core.close()
