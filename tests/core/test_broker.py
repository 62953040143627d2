"""Building the broker from the environment, and which failures are retried."""

from __future__ import annotations

from pathlib import Path

import dramatiq
import pytest
from click.testing import CliRunner
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, Retries, TimeLimit
from sqlalchemy.exc import OperationalError

from shelfsync.core.broker import BrokerSettings, build_broker, is_embedded, should_retry
from shelfsync.core.commands.run import run_command, worker_command
from shelfsync.core.errors import (
    AuthError,
    BadResponse,
    ConfigurationError,
    InvalidInput,
    PermissionDenied,
    RateLimited,
    TransientError,
)


def test_unset_url_is_the_embedded_stub_broker() -> None:
    broker = build_broker(BrokerSettings.from_env({}))
    assert isinstance(broker, StubBroker) and is_embedded(broker)


def test_redis_url_builds_a_redis_broker_with_the_heartbeat_asked_for() -> None:
    env = {"SHELFSYNC_BROKER_URL": "redis://127.0.0.1:6379/3",
           "SHELFSYNC_REDIS_HEARTBEAT_MS": "1500", "SHELFSYNC_BROKER_NAMESPACE": "t1"}
    broker = build_broker(BrokerSettings.from_env(env))
    assert isinstance(broker, RedisBroker) and not is_embedded(broker)
    assert broker.heartbeat_timeout == 1500 and broker.namespace == "t1"


def test_amqp_url_builds_a_rabbitmq_broker() -> None:
    env = {"SHELFSYNC_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672"}
    assert isinstance(build_broker(BrokerSettings.from_env(env)), RabbitmqBroker)


@pytest.mark.parametrize("env", [
    {"SHELFSYNC_BROKER_URL": "kafka://127.0.0.1"},
    {"SHELFSYNC_REDIS_HEARTBEAT_MS": "soon"},
    {"SHELFSYNC_MAX_RETRIES": "-1"},
])
def test_bad_settings_are_a_configuration_error(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        build_broker(BrokerSettings.from_env(env))


def test_middleware_is_configured_from_settings() -> None:
    env = {"SHELFSYNC_RETRY_MIN_BACKOFF_MS": "5", "SHELFSYNC_RETRY_MAX_BACKOFF_MS": "50",
           "SHELFSYNC_TIME_LIMIT_MS": "1000", "SHELFSYNC_MAX_AGE_MS": "2000"}
    broker = build_broker(BrokerSettings.from_env(env))
    by_type = {type(m): m for m in broker.middleware}
    retries = by_type[Retries]
    assert (retries.min_backoff, retries.max_backoff) == (5, 50)
    assert by_type[TimeLimit].time_limit == 1000 and by_type[AgeLimit].max_age == 2000


@pytest.mark.parametrize("error, retried", [
    (RateLimited("throttled", retry_after=2), True),
    (TransientError("503"), True),
    (BadResponse("half a body"), True),
    (dramatiq.Retry("later"), True),
    (OperationalError("SELECT 1", {}, Exception("server closed the connection")), True),
    (AuthError("token revoked"), False),
    (PermissionDenied("missing scope"), False),
    (InvalidInput("observed_at", "no zone"), False),
    (ValueError("a bug"), False),
])
def test_only_curable_errors_are_retried(error: BaseException, retried: bool) -> None:
    assert should_retry(3)(0, error) is retried  # type: ignore[operator]


def test_retries_stop_at_the_limit() -> None:
    retry_when = should_retry(3)
    assert [retry_when(n, TransientError("503")) for n in range(5)] == [  # type: ignore[operator]
        True, True, True, False, False]


def test_worker_command_refuses_the_embedded_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHELFSYNC_BROKER_URL", raising=False)
    result = CliRunner().invoke(worker_command, [])
    assert result.exit_code == 1
    assert "needs a shared broker" in result.output and "SHELFSYNC_BROKER_URL" in result.output


def test_run_command_refuses_an_unmigrated_database(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(run_command, ["--port", "0"])
    assert result.exit_code == 1 and "shelfsync db upgrade" in result.output
