"""`shelfsync worker`, `shelfsync run` and `shelfsync demo`.

- `worker` runs the `dramatiq` CLI on Shelfsync's broker and actors: the fleet's workers, on
  Redis or RabbitMQ. The embedded broker lives inside one process, so `worker` refuses it.
- `run` is the laptop deployment: the web app, a Dramatiq worker thread and the scheduler in
  one process, on the embedded broker and SQLite unless configured otherwise.
- `demo` builds a whole world on local fakes (see `shelfsync.core.demo`) and runs it as `run`
  does, printing each push as it happens.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from types import FrameType
from typing import Any

import click
import dramatiq
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from shelfsync.core.broker import BROKER_URL_ENV, BrokerSettings, build_broker
from shelfsync.core.commands.output import fail, plugin_manager
from shelfsync.core.crypto import SECRET_KEY_ENV, generate_key, load_keys
from shelfsync.core.db import (
    DATABASE_URL_ENV,
    current_revision,
    database_url,
    describe_database_error,
    get_engine,
    head_revision,
    install_outage_log_filter,
    loose_sqlite_permissions,
    redact,
    session_scope,
    upgrade,
)
from shelfsync.core.errors import ConfigurationError
from shelfsync.core.http import ALLOW_PRIVATE_ENV, quiet_request_log
from shelfsync.core.models import ChannelConnection, Organization, StoreConnection
from shelfsync.core.webhook_setup import subscribe_organization
from shelfsync.core.wsgi_server import serving_production

log = logging.getLogger(__name__)


def _stop_on_sigterm() -> None:
    """SIGTERM ends `run`/`demo` like Ctrl-C does: through the same clean shutdown."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@contextmanager
def serving_everything(host: str, port: int, *, threads: int,
                       reconcile_now: bool = False) -> Iterator[str]:
    """The web app (on waitress), a worker thread on the process's broker and the scheduler;
    yields the URL.

    Everything stops, in reverse order, when the block ends.
    """
    from shelfsync.core import tasks
    from shelfsync.core.scheduler import default_scheduler
    from shelfsync.web.app import create_app

    app = create_app()
    with ExitStack() as stack:
        url = stack.enter_context(serving_production(app, host, port, threads=max(4, threads)))
        broker = tasks.sync_pending.broker
        install_outage_log_filter()
        worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
        worker.start()
        stack.callback(worker.stop)
        scheduler = default_scheduler(get_engine(), reconcile_now=reconcile_now)
        scheduler.start()
        stack.callback(scheduler.shutdown, wait=False)
        yield url


def _require_migrated() -> None:
    url = database_url()
    try:
        current = current_revision(url)
        head = head_revision()
    except SQLAlchemyError as exc:  # unreachable database: one clear line
        fail(describe_database_error(exc, url))
    if current != head:
        fail(f"the database at {redact(url)} is at revision {current or 'none'}, not {head}: "
             "run `shelfsync db upgrade` first")
    loose = loose_sqlite_permissions(url)
    if loose:
        click.echo(f"warning: {loose}", err=True)


def _require_secret_key() -> None:
    """Refuse to start without a usable SHELFSYNC_SECRET_KEY, rather than answer every
    webhook with a 500: the key must be set, valid, and open the stored credentials."""
    load_keys()  # ConfigurationError (one line, naming the variable) when missing or invalid
    with session_scope() as session:
        for model in (StoreConnection, ChannelConnection):
            stored = session.exec(select(model)).first()
            if stored is not None:
                stored.credentials()  # ConfigurationError when no configured key opens it


def _broker_settings() -> BrokerSettings:
    try:
        settings = BrokerSettings.from_env()
        settings.kind  # noqa: B018 - validates the URL's scheme
    except ConfigurationError as exc:
        fail(str(exc))
    return settings


@click.command("worker")
@click.option("--processes", "-p", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: one per CPU).")
@click.option("--threads", "-t", type=click.IntRange(min=1), default=None,
              help="Threads per process (default: 8).")
@click.option("--queues", "-Q", multiple=True, help="Only these queues (repeatable).")
@click.option("--scheduler", is_flag=True,
              help="Also run the periodic jobs (run exactly one scheduler per deployment).")
def worker_command(processes: int | None, threads: int | None, queues: tuple[str, ...],
                   scheduler: bool) -> None:
    """Run Dramatiq workers for Shelfsync's jobs on SHELFSYNC_BROKER_URL."""
    settings = _broker_settings()
    if settings.kind == "embedded":
        fail("`shelfsync worker` needs a shared broker: set SHELFSYNC_BROKER_URL to redis://… "
             "or amqp://…. Without one, jobs run inside `shelfsync run`, which has its own "
             "worker thread.")
    load_keys()  # every job opens credentials: refuse to start without a usable key
    argv = [sys.executable, "-m", "dramatiq", "shelfsync.core.broker:broker",
            "shelfsync.core.tasks", "shelfsync.core.worker_logging"]
    if processes:
        argv += ["--processes", str(processes)]
    if threads:
        argv += ["--threads", str(threads)]
    if queues:
        argv += ["--queues", *queues]
    # An idle Redis consumer polls with a backoff up to this many ms (Dramatiq's default,
    # 1000, adds up to a second per hop to a webhook's latency).
    env = {**os.environ}
    env.setdefault("dramatiq_worker_timeout", "100")
    if not scheduler:
        sys.stdout.flush()
        os.execve(sys.executable, argv, env)  # dramatiq owns the process and its signals now
    from shelfsync.core.scheduler import default_scheduler

    child = subprocess.Popen(argv, env=env)
    # Ctrl-C reaches the child from the terminal itself; SIGTERM is passed on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
    periodic = default_scheduler(get_engine())
    periodic.start()
    try:
        code = child.wait()
    finally:
        periodic.shutdown(wait=False)
    sys.exit(code)


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=8, show_default=True,
              help="Worker threads (8 measured best on SQLite: 4 leave calls waiting, 16 "
                   "queue on SQLite's one writer; see docs/performance.md).")
def run_command(host: str, port: int, threads: int) -> None:
    """Run the web app, a worker and the scheduler in one process (the embedded default)."""
    settings = _broker_settings()
    _require_migrated()
    _require_secret_key()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    quiet_request_log()
    _stop_on_sigterm()
    try:
        with serving_everything(host, port, threads=threads) as url:
            click.echo(f"Shelfsync on {url} (broker: {settings.kind}, database: "
                       f"{redact(database_url())}); Ctrl-C stops it")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopped")


#: What the demo never takes from the environment: it runs on its own throw-away database,
#: key and in-process broker, so it cannot write into, re-key or enqueue work for a real
#: deployment (a fleet worker would run the demo's channel ids against the real database).
DEMO_OWNED_ENV = (DATABASE_URL_ENV, SECRET_KEY_ENV, BROKER_URL_ENV)


@contextmanager
def demo_environment(directory: str) -> Iterator[list[str]]:
    """A fresh SQLite database in `directory`, a new key, loopback fakes allowed, and no
    shared broker, whatever the environment says; yields the names it overrode.

    The previous values come back when the block ends (the demo may run in-process).
    """
    overridden = [name for name in DEMO_OWNED_ENV if os.environ.get(name, "").strip()]
    values = {
        DATABASE_URL_ENV: f"sqlite:///{os.path.join(directory, 'demo.db')}",
        SECRET_KEY_ENV: generate_key(),
        BROKER_URL_ENV: "",
        ALLOW_PRIVATE_ENV: "1",
        # The demo serves its settings UI over plain http://127.0.0.1: a Secure cookie would
        # be dropped by some browsers there, and sign-in would not hold.
        "SHELFSYNC_WEB_SECURE_COOKIES": "0",
    }
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield overridden
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _demo_broker() -> BrokerSettings:
    """Move the actors onto a new in-process broker: the process's broker was built from the
    environment at import and may be a fleet's Redis or RabbitMQ."""
    from shelfsync.core import tasks

    settings = replace(_broker_settings(), url="")
    tasks.use_broker(build_broker(settings))
    return settings


def _require_empty(url: str) -> None:
    """The demo's database holds nothing but what the demo makes (no one else's data)."""
    with session_scope() as session:
        if session.exec(select(Organization.id)).first() is not None:
            fail(f"demo: the database at {redact(url)} is not empty; the demo only runs on a "
                 "fresh database of its own")


@click.command("demo")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port of the local webhook receiver (0: any free port).")
@click.option("--products", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--variants", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--interval", type=click.FloatRange(min=0.05), default=3.0, show_default=True,
              help="Seconds between stock changes in the store.")
@click.option("--duration", type=click.FloatRange(min=0), default=None,
              help="Stop after this many seconds (default: run until Ctrl-C).")
@click.option("--order-interval", type=click.FloatRange(min=0), default=5.0,
              show_default=True,
              help="Seconds between TikTok buyer orders on a random shop (0: none).")
@click.option("--store", "store_platform", default="shopify", show_default=True,
              help="The store platform to fake: any installed store plugin with a fake.")
def demo_command(port: int, products: int, variants: int, seed: int, interval: float,
                 duration: float | None, order_interval: float, store_platform: str) -> None:
    """Sync a fake store (Shopify unless --store says otherwise) to two fake TikTok shops;
    print every push and every order created in the store."""
    from shelfsync.core import demo
    from shelfsync.web.demo_user import create_demo_user

    pm = plugin_manager()
    _require_demo_store(pm, store_platform)
    _stop_on_sigterm()
    logging.basicConfig(level=logging.WARNING)
    # The pushes are the show: not every HTTP request to the fakes and the receiver.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    def say(line: str) -> None:
        click.echo(line)
        sys.stdout.flush()

    with tempfile.TemporaryDirectory(prefix="shelfsync-demo-") as directory, ExitStack() as stack:
        overridden = stack.enter_context(demo_environment(directory))
        if overridden:
            say(f"demo: ignoring {', '.join(overridden)}: the demo runs on its own throw-away "
                "database, key and in-process broker")
        settings = _demo_broker()
        upgrade()
        _require_empty(database_url())
        fakes = stack.enter_context(demo.running_fakes(pm, products=products,
                                                       variants=variants, seed=seed,
                                                       store_platform=store_platform))
        with session_scope() as session:
            world = demo.connect_organization(session, fakes,
                                              name=f"Demo {time.strftime('%Y-%m-%d %H:%M:%S')}")
        _refresh(pm, world, say)
        try:
            url = stack.enter_context(serving_everything("127.0.0.1", port, threads=4,
                                                         reconcile_now=True))
        except OSError as exc:
            fail(f"cannot listen on 127.0.0.1:{port}: {exc}")
        # Through the plugins' subscribe hooks, as `shelfsync webhooks subscribe` does.
        with session_scope() as session:
            organization = session.get(Organization, world.organization_id)
            assert organization is not None
            for subscribed in subscribe_organization(session, pm, organization, url):
                if subscribed.error and _polled_instead(pm, subscribed):
                    say(f"demo: the {subscribed.platform} store sends no webhooks we "
                        "subscribe to; its changes are found by polling")
                elif subscribed.error:
                    fail(f"demo: could not subscribe {subscribed.kind} "
                         f"{subscribed.connection_id}: {subscribed.error}")
        with session_scope() as session:
            email, password = create_demo_user(session, world.organization_id)
        say(f"demo: receiver {url}, broker {settings.kind}, database {redact(database_url())}")
        say(f"demo: settings UI {url}/ — sign in as {email} with password {password}")
        say(f"demo: store {fakes.store_server.base_url}, TikTok {fakes.channel_server.base_url}")
        stop = threading.Event()
        printer = demo.PushPrinter(get_engine(), world, say)
        printer_thread = threading.Thread(target=printer.run, args=(stop,), daemon=True)
        printer_thread.start()
        with session_scope() as session:
            targets = demo.stock_targets(session, world)
        ticker = demo.StockTicker(fakes, targets, seed=seed, interval=interval, announce=say)
        ticker_thread = threading.Thread(target=ticker.run, args=(stop,), daemon=True)
        ticker_thread.start()
        order_threads = []
        if order_interval > 0:
            with session_scope() as session:
                skus = demo.order_skus(session, world)
            placer = demo.OrderPlacer(fakes, skus, seed=seed, interval=order_interval,
                                      announce=say)
            order_printer = demo.OrderPrinter(get_engine(), world, say)
            order_threads = [threading.Thread(target=placer.run, args=(stop,), daemon=True),
                             threading.Thread(target=order_printer.run, args=(stop,),
                                              daemon=True)]
            for thread in order_threads:
                thread.start()
        try:
            if duration is None:
                while True:
                    time.sleep(3600)
            time.sleep(duration)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            ticker_thread.join(timeout=10)
            printer_thread.join(timeout=10)
            for thread in order_threads:
                thread.join(timeout=10)
            say("demo: stopped")


def _require_demo_store(pm: Any, platform: str) -> None:
    """Refuse, in one line, a --store that no installed store plugin can fake."""
    from shelfsync.core.types import Role

    factories = dict(pm.hook.shelfsync_fake_factory())
    stores = sorted(name for name, info in pm.platforms().items()
                    if info.role == Role.STORE and name in factories)
    if platform not in stores:
        fail(f"demo: --store {platform!r} is not an installed store plugin with a fake "
             f"(choose from: {', '.join(stores) or 'none'})")


def _polled_instead(pm: Any, subscribed: Any) -> bool:
    """A store whose plugin polls for changes needs no webhook subscription."""
    from shelfsync.core.scheduler import pollable_platforms

    return subscribed.kind == "store" and pollable_platforms(pm)(subscribed.platform)


def _refresh(pm: Any, world: Any, say: Any) -> None:
    """Read the catalog, listings and links before anything runs, and say what was found."""
    from shelfsync.core.sync import inventory

    with session_scope() as session:
        catalog = inventory.refresh_catalog(session, pm, world.store_id, with_stock=True)
    say(f"demo: store catalog {catalog.variants} variants at {catalog.locations} locations")
    for channel_id in world.channel_ids:
        with session_scope() as session:
            links = inventory.refresh_listings(session, pm, channel_id)
        say(f"demo: channel {channel_id}: {links.linked} SKUs linked, "
            f"{len(links.problems)} link problems")
