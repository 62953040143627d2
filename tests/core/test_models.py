"""The tables' rules, enforced by the database itself on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, inspect, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlmodel import Session, select

from shelfsync.core.crypto import SECRET_KEY_ENV, generate_key
from shelfsync.core.models import (
    AuditIsAppendOnly,
    ChannelConnection,
    ChannelSettings,
    InventoryAudit,
    OrderBinding,
    Organization,
    StoreAlreadyConnected,
    StoreConnection,
    User,
    add_store_connection,
    metadata,
)
from shelfsync.core.types import Connection

SECRETS = {
    "access_token": "shpat_PLAINTEXT_TOKEN_4711",
    "app_secret": "APP_SECRET_PLAINTEXT_0815",
    "shop_cipher": "CIPHER_PLAINTEXT_ROW_42",
}


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = generate_key()
    monkeypatch.setenv(SECRET_KEY_ENV, key)
    return key


def _org(session: Session, name: str = "Acme") -> Organization:
    org = Organization(name=name)
    session.add(org)
    session.flush()
    return org


def _channel(session: Session, org: Organization, shop_id: str = "7000") -> ChannelConnection:
    channel = ChannelConnection(
        organization_id=org.id,  # type: ignore[arg-type]
        platform="tiktok",
        base_url="https://open-api.tiktokglobalshop.com",
        shop_id=shop_id,
        shop_name="Acme US",
    )
    channel.set_credentials({"access_token": "t", "shop_cipher": "c"})
    session.add(channel)
    session.flush()
    return channel


def _audit(channel_id: int, quantity: int = 5) -> InventoryAudit:
    return InventoryAudit(
        channel_id=channel_id,
        sku="SKU-1",
        sku_id="17300",
        inputs={"available": 10, "percent": 50},
        quantity=quantity,
        reason="percent_of_available",
        explanation="50 % of 10",
        outcome="ok",
        request_id="req-1",
    )


# --- one store per organization -------------------------------------------------------------


def test_raw_insert_of_a_second_store_fails_at_the_database(session: Session) -> None:
    org = _org(session)
    add_store_connection(
        session, organization_id=org.id, platform="shopify", base_url="https://a", credentials={}
    )
    session.commit()
    raw = text(
        "INSERT INTO store_connection (organization_id, platform, base_url, credentials_token,"
        " settings, status, status_message, store_name, created_at, updated_at) VALUES"
        " (:org, 'shopify', 'https://b', 'x', '{}', 'ok', '', '', :now, :now)"
    )
    with pytest.raises(IntegrityError):
        session.execute(raw, {"org": org.id, "now": datetime.now(UTC).replace(tzinfo=None)})
    session.rollback()


def test_helper_reports_a_second_store_clearly_and_keeps_the_transaction(
    session: Session,
) -> None:
    org = _org(session)
    first = add_store_connection(
        session,
        organization_id=org.id,  # type: ignore[arg-type]
        platform="shopify",
        base_url="https://acme.myshopify.com",
        credentials={"access_token": "t1"},
        store_id="acme.myshopify.com",
    )
    with pytest.raises(StoreAlreadyConnected) as caught:
        add_store_connection(
            session,
            organization_id=org.id,  # type: ignore[arg-type]
            platform="woocommerce",
            base_url="https://shop.example",
            credentials={"consumer_key": "ck"},
        )
    assert "already has a store connected" in str(caught.value)
    assert "shopify at https://acme.myshopify.com" in str(caught.value)
    assert caught.value.code == "store_already_connected"
    # The refusal did not spoil the transaction: other work commits.
    other = _org(session, "Other")
    add_store_connection(
        session,
        organization_id=other.id,  # type: ignore[arg-type]
        platform="magento",
        base_url="https://m",
        credentials={},
    )
    session.commit()
    stores = session.exec(select(StoreConnection)).all()
    assert sorted(s.platform for s in stores) == ["magento", "shopify"]
    assert first.credentials() == {"access_token": "t1"}


def test_an_organization_has_many_channels_but_one_per_shop(session: Session) -> None:
    org = _org(session)
    _channel(session, org, "7000")
    _channel(session, org, "7001")
    session.commit()
    with pytest.raises(IntegrityError):
        _channel(session, org, "7000")
    session.rollback()


# --- inventory audit: append-only -----------------------------------------------------------


def test_audit_rows_cannot_be_changed_through_the_orm(session: Session) -> None:
    row = _audit(channel_id=1)
    session.add(row)
    session.commit()

    row.quantity = 99
    with pytest.raises(AuditIsAppendOnly):
        session.commit()
    session.rollback()

    session.delete(row)
    with pytest.raises(AuditIsAppendOnly):
        session.commit()
    session.rollback()

    for statement in (
        update(InventoryAudit).values(quantity=0),
        delete(InventoryAudit),
    ):
        with pytest.raises(AuditIsAppendOnly):
            session.execute(statement)
        session.rollback()
    session.expire_all()
    assert session.exec(select(InventoryAudit.quantity)).all() == [5]


@pytest.mark.parametrize(
    "sql", ["UPDATE inventory_audit SET quantity = 0", "DELETE FROM inventory_audit"]
)
def test_audit_rows_cannot_be_changed_with_raw_sql(engine: Engine, sql: str) -> None:
    with Session(engine) as session:
        session.add(_audit(channel_id=1))
        session.commit()
    with engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text(sql))
    with Session(engine) as session:
        assert session.exec(select(InventoryAudit.quantity)).all() == [5]


@pytest.mark.postgres
@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_audit_cannot_be_truncated_on_postgres(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(_audit(channel_id=1))
        session.commit()
    with engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text("TRUNCATE inventory_audit"))


def test_audit_survives_its_channel_and_organization(session: Session) -> None:
    org = _org(session)
    channel = _channel(session, org)
    session.add(_audit(channel.id))  # type: ignore[arg-type]
    session.commit()
    session.delete(org)
    session.commit()
    assert session.exec(select(ChannelConnection)).all() == []
    assert [a.channel_id for a in session.exec(select(InventoryAudit))] == [channel.id]


# --- orders, settings, users ----------------------------------------------------------------


def test_order_binding_is_unique_per_channel_order(session: Session) -> None:
    org = _org(session)
    first, second = _channel(session, org, "1"), _channel(session, org, "2")
    session.add(OrderBinding(channel_id=first.id, channel_order_id="576"))  # type: ignore[arg-type]
    session.add(OrderBinding(channel_id=second.id, channel_order_id="576"))  # type: ignore[arg-type]
    session.commit()
    session.add(OrderBinding(channel_id=first.id, channel_order_id="576"))  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    assert len(session.exec(select(OrderBinding)).all()) == 2


def test_channel_settings_defaults(session: Session) -> None:
    channel = _channel(session, _org(session))
    session.add(ChannelSettings(channel_id=channel.id))  # type: ignore[arg-type]
    session.commit()
    session.expire_all()
    settings = session.get_one(ChannelSettings, channel.id)
    assert (settings.inventory_sync, settings.percent, settings.threshold) == (True, 100, 0)
    assert settings.honor_continue_selling and settings.auto_link
    assert (settings.location_mode, settings.location_ids) == ("all", [])
    assert settings.currency_rate == Decimal(1)
    assert settings.reconcile_interval_minutes == 15


@pytest.mark.parametrize(
    "field",
    [
        {"percent": 101},
        {"percent": -1},
        {"threshold": -1},
        {"location_mode": "some"},
        {"currency_rate": Decimal(0)},
        {"reconcile_interval_minutes": 0},
    ],
)
def test_channel_settings_ranges_are_checked_by_the_database(
    session: Session, field: dict[str, object]
) -> None:
    channel = _channel(session, _org(session))
    session.commit()
    session.add(ChannelSettings(channel_id=channel.id, **field))  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_currency_rate_keeps_its_decimals(session: Session) -> None:
    channel = _channel(session, _org(session))
    session.add(ChannelSettings(channel_id=channel.id, currency_rate=Decimal("1.234567")))  # type: ignore[arg-type]
    session.commit()
    session.expire_all()
    assert session.get_one(ChannelSettings, channel.id).currency_rate == Decimal("1.234567")


def test_user_password_and_unique_email(session: Session) -> None:
    org = _org(session)
    user = User(organization_id=org.id, email=User.normalize_email(" Ann@Example.COM "))  # type: ignore[arg-type]
    user.set_password("correct horse")
    session.add(user)
    session.commit()
    assert user.email == "ann@example.com"
    assert "correct horse" not in user.password_hash
    assert user.check_password("correct horse") and not user.check_password("wrong")
    session.add(User(organization_id=org.id, email="ann@example.com", password_hash="x"))  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_deleting_an_organization_cascades(session: Session) -> None:
    org = _org(session)
    add_store_connection(
        session, organization_id=org.id, platform="shopify", base_url="https://a", credentials={}
    )
    _channel(session, org)
    session.commit()
    session.delete(org)
    session.commit()
    assert session.exec(select(StoreConnection)).all() == []
    assert session.exec(select(ChannelConnection)).all() == []


# --- timestamps -----------------------------------------------------------------------------


def test_datetimes_come_back_aware_in_utc(session: Session) -> None:
    org = _org(session)
    channel = _channel(session, org)
    plus_two = timezone(timedelta(hours=2))
    channel.last_sync_at = datetime(2026, 1, 1, 12, 0, tzinfo=plus_two)
    session.commit()
    session.expire_all()
    loaded = session.get_one(ChannelConnection, channel.id)
    assert loaded.last_sync_at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert loaded.last_sync_at.utcoffset() == timedelta(0)
    assert loaded.created_at.tzinfo is not None


def test_naive_datetimes_are_refused(session: Session) -> None:
    channel = _channel(session, _org(session))
    channel.last_sync_at = datetime(2026, 1, 1, 12, 0)
    with pytest.raises(StatementError, match="naive datetime"):
        session.commit()
    session.rollback()


# --- credentials at rest --------------------------------------------------------------------


def _store_secrets(session: Session) -> None:
    org = _org(session)
    add_store_connection(
        session,
        organization_id=org.id,  # type: ignore[arg-type]
        platform="shopify",
        base_url="https://acme.myshopify.com",
        credentials=SECRETS,
    )
    channel = _channel(session, org)
    channel.set_credentials(SECRETS)
    session.commit()


def test_connections_decrypt_with_the_key(session: Session, secret_key: str) -> None:
    _store_secrets(session)
    session.expire_all()
    store = session.exec(select(StoreConnection)).one()
    assert store.credentials() == SECRETS
    assert store.credentials(secret_key) == SECRETS
    connection = store.as_connection()
    assert isinstance(connection, Connection)
    assert connection.credentials == SECRETS and connection.platform == "shopify"
    assert "PLAINTEXT" not in repr(store) and "PLAINTEXT" not in repr(connection)


def test_no_credential_appears_in_plaintext_in_the_database(
    engine: Engine, migrated_url: str
) -> None:
    with Session(engine) as session:
        _store_secrets(session)
    dumped: list[str] = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            if engine.dialect.name == "postgresql":
                rows = connection.execute(text(f'SELECT t::text FROM "{table}" t'))
            else:
                rows = connection.execute(text(f'SELECT * FROM "{table}"'))
            dumped.extend(str(tuple(row)) for row in rows)
    assert any("shopify" in row for row in dumped)  # the dump did see the connections
    everything = "\n".join(dumped)
    if engine.dialect.name == "sqlite":
        engine.dispose()
        database = Path(make_url(migrated_url).database or "")
        for path in (database, Path(f"{database}-wal")):
            if path.exists():
                everything += path.read_bytes().decode("latin-1")
    assert "https://acme.myshopify.com" in everything  # and would see plaintext if stored
    for value in SECRETS.values():
        assert value not in everything
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
