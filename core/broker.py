"""The Dramatiq broker, built from `SHELFSYNC_BROKER_URL` and set before any actor exists.

Dramatiq binds an actor to the global broker when the actor is declared, so this module builds
and sets the broker when it is imported and `shelfsync.core.tasks` imports it first (Dramatiq's
`examples/use_actors_from_different_files`). The `dramatiq` CLI is pointed at
`shelfsync.core.broker:broker`. Tests build their own broker and move the actors onto it with
`rebind_actors()`.

| `SHELFSYNC_BROKER_URL` | broker                                                          |
| ---------------------- | --------------------------------------------------------------- |
| unset (the default)    | an in-process `StubBroker`, served by a worker thread inside    |
|                        | `shelfsync run` / `shelfsync demo`: nothing else to install      |
| `redis://…`            | `RedisBroker` (heartbeat: `SHELFSYNC_REDIS_HEARTBEAT_MS`)         |
| `amqp://…`             | `RabbitmqBroker`                                                |

Middleware is declared in full (not Dramatiq's defaults) so retry policy is ours: only errors
that a later attempt can cure are retried (see `should_retry`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from sqlalchemy.exc import OperationalError

from shelfsync.core.errors import BadResponse, ConfigurationError, RateLimited, TransientError

BROKER_URL_ENV = "SHELFSYNC_BROKER_URL"

#: Queues: webhook-driven syncs must never wait behind an hour-long catalog refresh.
SYNC_QUEUE = "shelfsync-sync"
BULK_QUEUE = "shelfsync-bulk"
QUEUES = (SYNC_QUEUE, BULK_QUEUE)

#: Errors a later attempt can cure. AuthError and InvalidInput are deliberately absent: a
#: refused token stays refused, and retrying it only hammers the platform (a retry storm).
RETRYABLE: tuple[type[BaseException], ...] = (
    RateLimited,
    TransientError,
    BadResponse,
    dramatiq.Retry,
    # A dropped database connection, a deadlock or a serialization failure on PostgreSQL.
    OperationalError,
)


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}",
                                 code="broker_setting_invalid") from None
    if value < 0:
        raise ConfigurationError(f"{name} must be >= 0, got {value}",
                                 code="broker_setting_invalid")
    return value


@dataclass(frozen=True)
class BrokerSettings:
    """How the broker and its middleware are built; every figure has an env override."""

    url: str = ""
    #: Milliseconds without a heartbeat after which Redis hands a worker's unacked messages
    #: to others (Dramatiq's default: a minute; tests use ~2 s to see a killed worker's
    #: message redelivered quickly).
    redis_heartbeat_ms: int = 60_000
    #: Out of a million Redis commands, how many also run maintenance (requeueing the
    #: messages of dead workers). Dramatiq's default is 1000; tests raise it.
    redis_maintenance_chance: int = 1000
    #: Key prefix in Redis, so several deployments (or test runs) can share one server.
    namespace: str = "shelfsync"
    min_backoff_ms: int = 1_000
    max_backoff_ms: int = 300_000
    max_retries: int = 10
    time_limit_ms: int = 600_000
    max_age_ms: int = 86_400_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BrokerSettings:
        """Settings from `SHELFSYNC_*` environment variables (see each field)."""
        env = os.environ if env is None else env
        default = cls()
        return cls(
            url=env.get(BROKER_URL_ENV, "").strip(),
            redis_heartbeat_ms=_env_int(env, "SHELFSYNC_REDIS_HEARTBEAT_MS",
                                        default.redis_heartbeat_ms),
            redis_maintenance_chance=_env_int(env, "SHELFSYNC_REDIS_MAINTENANCE_CHANCE",
                                              default.redis_maintenance_chance),
            namespace=env.get("SHELFSYNC_BROKER_NAMESPACE", "").strip() or default.namespace,
            min_backoff_ms=_env_int(env, "SHELFSYNC_RETRY_MIN_BACKOFF_MS",
                                    default.min_backoff_ms),
            max_backoff_ms=_env_int(env, "SHELFSYNC_RETRY_MAX_BACKOFF_MS",
                                    default.max_backoff_ms),
            max_retries=_env_int(env, "SHELFSYNC_MAX_RETRIES", default.max_retries),
            time_limit_ms=_env_int(env, "SHELFSYNC_TIME_LIMIT_MS", default.time_limit_ms),
            max_age_ms=_env_int(env, "SHELFSYNC_MAX_AGE_MS", default.max_age_ms),
        )

    @property
    def kind(self) -> str:
        """"embedded", "redis" or "rabbitmq"."""
        return broker_kind(self.url)


def broker_kind(url: str) -> str:
    """Which broker a URL names; ConfigurationError for a scheme we do not speak."""
    if not url:
        return "embedded"
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("redis", "rediss", "unix"):
        return "redis"
    if scheme in ("amqp", "amqps"):
        return "rabbitmq"
    raise ConfigurationError(
        f"{BROKER_URL_ENV} must start with redis:// or amqp:// (or be unset for the embedded "
        f"in-process broker), got a {scheme!r} URL",
        code="broker_url_invalid",
    )


def should_retry(max_retries: int) -> object:
    """The Retries middleware's `retry_when`: retryable errors, at most `max_retries` times."""

    def retry_when(retries: int, exception: BaseException) -> bool:
        return retries < max_retries and isinstance(exception, RETRYABLE)

    return retry_when


def middleware(settings: BrokerSettings) -> list[Middleware]:
    """The full middleware stack (order as Dramatiq's defaults, plus CurrentMessage)."""
    return [
        AgeLimit(max_age=settings.max_age_ms),
        TimeLimit(time_limit=settings.time_limit_ms),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(
            max_retries=settings.max_retries,
            min_backoff=settings.min_backoff_ms,
            max_backoff=settings.max_backoff_ms,
            retry_when=should_retry(settings.max_retries),  # type: ignore[arg-type]
        ),
        CurrentMessage(),
    ]


def build_broker(settings: BrokerSettings | None = None) -> dramatiq.Broker:
    """A new broker for `settings` (default: from the environment). Connects lazily."""
    settings = settings or BrokerSettings.from_env()
    stack = middleware(settings)
    kind = settings.kind
    if kind == "redis":
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(
            url=settings.url,
            middleware=stack,
            namespace=settings.namespace,
            heartbeat_timeout=settings.redis_heartbeat_ms,
            maintenance_chance=settings.redis_maintenance_chance,
        )
    if kind == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=settings.url, middleware=stack)
    return StubBroker(middleware=stack)


def is_embedded(target: dramatiq.Broker) -> bool:
    """Whether `target` only lives in this process (needs an in-process worker thread)."""
    return isinstance(target, StubBroker)


def declare_queues(target: dramatiq.Broker, queues: Iterable[str] = QUEUES) -> None:
    """Declare our queues (a worker or `join()` on a fresh StubBroker needs them to exist)."""
    for name in queues:
        target.declare_queue(name)


def rebind_actors(target: dramatiq.Broker, actors: Iterable[dramatiq.Actor]) -> None:
    """Move `actors` onto `target` (tests use a StubBroker; the demo its own broker)."""
    for actor in actors:
        actor.broker = target
        target.declare_actor(actor)
    declare_queues(target)
    dramatiq.set_broker(target)


#: The process's broker. Built at import on purpose (see the module docstring).
broker: dramatiq.Broker = build_broker()
dramatiq.set_broker(broker)
