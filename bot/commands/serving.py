"""``serve`` and ``db``: the bot itself and its database (the look at Slack before it starts is in
:mod:`bot.commands.slack_check`)."""

from __future__ import annotations

import errno
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app import SupportBot
from bot.clients import open_router, routes_from
from bot.commands.claude_check import check_claude_at_start
from bot.commands.slack_check import check_slack, slack_refused, slack_unreachable
from bot.server import serve_http, serve_socket_mode, stop_on_signals
from bot.settings import Settings, SettingsError
from bot.store.engine import async_database_url, require_existing_database, sqlite_file
from bot.store.migrate import WhenBehind, upgrade_async
from bot.store.repository import Store
from router.config import RoutesConfig
from router.routes_file import default_routes_path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

LISTEN_BACKLOG = 1024


async def open_store(
    settings: Settings,
    *,
    existing: bool = False,
    behind: WhenBehind = WhenBehind.UPGRADE,
    command: str = "",
) -> Store:
    """The store at DATABASE_URL, migrated to the latest revision; with ``existing``, only a SQLite file
    that is there already (see :func:`require_existing_database`); a database an older version left is
    upgraded, or refused, as ``behind`` says for ``command`` (see :class:`WhenBehind`)."""
    if existing:
        require_existing_database(settings.database_url)
    store = await Store.connect(settings.database_url, message_text=settings.store_message_text)
    try:
        await upgrade_async(store.engine, behind=behind, command=command)
    except BaseException:
        await store.close()
        raise
    return store


async def serve(settings: Settings) -> None:
    """Apply the migrations, then serve Slack until SIGINT or SIGTERM."""
    settings.require_slack()
    # What the operator wrote is checked before anything slow: a typo in the routes file or the database
    # URL is told in a second, not after the Slack check and a migration that may take minutes.
    routes = routes_from(settings)
    async_database_url(settings.database_url)
    _warn_of_gaps(settings, routes)
    # Before the migrations and the model load: a wrong token or no way to Slack is told in seconds, and
    # nothing has been opened yet that would need closing.
    await check_slack(settings)
    await check_claude_at_start(settings, routes)
    with sole_server(settings.database_url), listening_socket(settings) as sock:
        async with support_bot(settings, routes) as bot:
            await _serve(bot, settings, sock)


def _warn_of_gaps(settings: Settings, routes: RoutesConfig) -> None:
    """Say at start what the settings and the routes file leave out that the bot works on without: the
    operator reads it once here, rather than wondering later why nobody was tagged or nothing cost."""
    if settings.socket_mode and settings.slack_signing_secret is not None:
        logger.info(
            "SLACK_APP_TOKEN is set: serving over Socket Mode; SLACK_SIGNING_SECRET, HOST and PORT are not "
            "used (unset SLACK_APP_TOKEN to serve over HTTP)"
        )
    if settings.offline:
        logger.warning(
            "No ANTHROPIC_API_KEY: running offline, the local model classifies and offline replies answer."
        )
    elif unpriced := routes.unpriced_models:
        logger.warning(
            "%s: no prices for %s: cost estimates read $0 in /routing-stats; add a prices: block (USD per "
            "million tokens, README: The routes file)",
            settings.routes_file or default_routes_path(),
            ", ".join(unpriced),
        )
    if settings.direct_message_escalations is None:
        logger.warning(
            "Neither ESCALATION_CHANNEL nor SUPPORT_CHANNELS is set: an escalated direct message tags the "
            "agents inside the DM, where they cannot see it. Set ESCALATION_CHANNEL to a channel they read."
        )
    elif not settings.quotes_direct_messages:
        logger.warning(
            "ESCALATION_CHANNEL is not set: agents are told of an escalated direct message in %s, without "
            "the customer's words (customers read that channel). Set ESCALATION_CHANNEL to your agents' "
            "own channel to see them.",
            settings.direct_message_escalations,
        )
    if not (settings.agent_users or settings.agent_usergroup):
        logger.warning(
            'Neither AGENT_USERGROUP nor AGENT_USERS is set: escalations tag nobody (they say "Support '
            'team") and anyone but the customer may use the agent controls. Set one of them.'
        )


async def _serve(bot: SupportBot, settings: Settings, sock: socket.socket | None) -> None:
    stop = stop_on_signals()
    try:
        if sock is not None:
            await serve_http(bot, sock, stop)
        elif settings.slack_app_token is not None:
            await serve_socket_mode(bot, settings.slack_app_token.get_secret_value(), stop)
    except SlackApiError as e:
        raise SettingsError(slack_refused(settings, e)) from e
    # aiohttp's connection errors and TimeoutError are OSErrors too; the port is bound already.
    except (aiohttp.ClientError, SlackClientError, OSError) as e:
        raise SettingsError(slack_unreachable(settings, e)) from e


@contextmanager
def listening_socket(settings: Settings) -> Iterator[socket.socket | None]:
    """HTTP mode's socket on HOST:PORT, bound before anything else starts (None in Socket Mode): a port
    in use stops ``serve`` before it migrates, loads the model or resumes a message. Connections
    arriving meanwhile wait in the kernel's backlog until the bot listens."""
    if settings.socket_mode:
        yield None
        return
    try:
        infos = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as e:
        raise SettingsError(_cannot_listen(settings, e)) from e
    with sock:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(LISTEN_BACKLOG)
        except OSError as e:
            raise SettingsError(_cannot_listen(settings, e)) from e
        sock.setblocking(False)
        yield sock


@contextmanager
def sole_server(database_url: str, command: str = "serve") -> Iterator[None]:
    """Held while ``serve`` runs on a SQLite file: one serving process per file. At start a SQLite
    server resumes every pending message as its own; a second one (``make serve`` run twice, a restart
    overlapping the old process) would answer the first one's messages again. The lock is the kernel's
    (``flock`` on ``<file>.serve-lock``), so a killed server's is freed with it. PostgreSQL, which
    several replicas share by design, takes none; nor does a system without ``flock``.

    ``db upgrade`` holds it too (``command``): migrated under a running ``serve``, SQLite would lock the
    bot out of its database until the upgrade is done.
    """
    path = sqlite_file(database_url)
    if fcntl is None or path is None or not path.parent.is_dir():
        yield  # nothing to share, or a folder open_store will report missing
        return
    lock = path.with_name(path.name + ".serve-lock")
    fd = _open_lock(lock, path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            raise SettingsError(_held(holder, path, command)) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # frees the lock


def _held(holder: str, path: Path, command: str) -> str:
    """Why ``command`` cannot run: another process holds ``path``'s lock."""
    if command == "serve":
        return (
            f"DATABASE_URL: another support-router (pid {holder}) is already serving {path}; stop it first. "
            "Several replicas need one PostgreSQL database (DATABASE_URL=postgresql://…)"
        )
    return (
        f"DATABASE_URL: another support-router (pid {holder}) is using {path}: a serve, or another "
        f"{command}; stop it, or let it end, then run {command} again (on SQLite an upgrade under a running "
        "serve locks it out of the database until done; README: Upgrading)"
    )


def _open_lock(lock: Path, database: Path) -> int:
    """The lock file's descriptor, opened for writing (created if need be).

    Raises:
        SettingsError: it cannot be: a read-only folder or mount, or a lock file left by another user's
            ``serve``. Said in one line; the traceback would name neither the folder nor the owner.
    """
    try:
        return os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        lock = lock.absolute()  # "may write to ." would name no folder
        raise SettingsError(
            f"DATABASE_URL: cannot open {lock}, the lock that keeps a second serve off {database.name} "
            f"({e.strerror or e}); check that this user may write to {lock.parent} (not a read-only folder "
            "or mount) and, if the lock file is there, that this user is its owner (remove one another "
            "user's serve left)"
        ) from e


def _cannot_listen(settings: Settings, error: OSError) -> str:
    where = f"{settings.host}:{settings.port}"
    if error.errno == errno.EADDRINUSE:
        return f"PORT: {where} is already in use; stop the program using it, or set PORT to a free port"
    if error.errno == errno.EACCES:
        return f"PORT: not allowed to listen on {where}; set PORT to 1024 or above"
    if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
        return (
            f"HOST: {settings.host!r} is not an address of this machine; set HOST to 0.0.0.0 "
            "(every interface) or to one of its addresses"
        )
    return f"cannot listen on {where} ({error.strerror or error}); check HOST and PORT"


@asynccontextmanager
async def support_bot(settings: Settings, routes: RoutesConfig | None = None) -> AsyncIterator[SupportBot]:
    """The bot on a migrated store and a router from settings (on ``routes`` when given, read already);
    all of it closed on exit."""
    store = await open_store(settings)
    try:
        async with open_router(settings, routes) as router:
            bot = SupportBot(settings, router, store)
            try:
                yield bot
            finally:
                await bot.close()
    finally:
        await store.close()


async def db_upgrade(settings: Settings) -> None:
    """Apply the migrations; on SQLite, only while no ``serve`` runs on the file (see :func:`sole_server`)."""
    with sole_server(settings.database_url, command="db upgrade"):
        store = await open_store(settings)
        await store.close()
