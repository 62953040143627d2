"""Onboarding against fakes of its own: the store from the plugin's declared fields with a
live check before saving, secrets never rendered back, one store only, one or more shops
(not one another organization holds), sync settings, done."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from dramatiq import Message
from dramatiq.common import dq_name
from sqlmodel import select

from shelfsync.core.broker import BULK_QUEUE
from shelfsync.core.db import session_scope
from shelfsync.core.demo import Fakes, running_fakes
from shelfsync.core.models import ChannelConnection, ChannelSettings, StoreConnection
from shelfsync.core.services import syncing
from shelfsync.web.demo_user import create_demo_user

from .conftest import NEWCOMER, UI, login, post


def store_form(fakes: Fakes, **changes: str) -> dict[str, str]:
    entry = fakes.store.connections()[0]
    return {"platform": "shopify", "api_base_url": fakes.store_server.base_url,
            **{f"credentials.{k}": v for k, v in entry["credentials"].items()},
            "settings.api_version": entry["api_version"], **changes}


def shop_form(fakes: Fakes, index: int, rate: str | None = None) -> dict[str, Any]:
    """The connect form of the TikTok fake's shop `index` (0 sells in GBP, 1 in USD), with
    an exchange `rate` when given."""
    entry = fakes.channel.connections()[index]
    base = fakes.channel_server.base_url
    return {"platform": "tiktok", "api_base_url": base, "shop_id": entry["id"],
            "settings.auth_base_url": base,
            **{f"credentials.{k}": v for k, v in entry["credentials"].items()},
            **({"currency_rate": rate} if rate is not None else {})}


def test_onboarding_connects_a_store_and_shops_checked_live(ui: UI) -> None:
    client = ui.signed_in(NEWCOMER)
    assert client.get("/").headers["Location"] == "/onboarding/"
    assert client.get("/onboarding/").headers["Location"] == "/onboarding/store"
    # Several store plugins are installed: the merchant picks Shopify.
    page = client.get("/onboarding/store?platform=shopify").get_data(as_text=True)
    assert 'aria-current="step"' in page and "Connect your store" in page
    assert 'type="password" name="credentials.access_token"' in page
    assert 'type="password" name="credentials.client_secret"' in page
    with running_fakes(ui.pm, products=2, variants=1, seed=11) as fakes:
        # A token the store refuses: nothing saved, the reason shown, no secret echoed.
        wrong = "shpat_" + "0" * 32
        answer = post(client, "/onboarding/store", store_form(
            fakes, **{"credentials.access_token": wrong}))
        page = answer.get_data(as_text=True)
        assert answer.status_code == 400 and 'class="error"' in page
        assert wrong not in page and fakes.store.connections()[0]["credentials"][
            "client_secret"] not in page
        # A missing field is named next to the credentials.
        answer = post(client, "/onboarding/store", store_form(
            fakes, **{"credentials.client_secret": ""}))
        assert "missing for shopify: client_secret" in answer.get_data(as_text=True)
        with session_scope() as session:
            assert session.exec(select(StoreConnection).where(
                StoreConnection.organization_id == ui.newco_id)).first() is None
        answer = post(client, "/onboarding/store", store_form(fakes))
        assert answer.status_code == 302 and answer.headers["Location"] == "/onboarding/shops"
        # One store per organization: the service's refusal is shown.
        answer = post(client, "/onboarding/store", store_form(fakes))
        page = answer.get_data(as_text=True)
        assert answer.status_code == 400
        assert "already has a store connected" in page and "disconnect it first" in page
        assert "Your store is connected" in page

        # A shop another organization holds is refused, without naming it.
        answer = post(client, "/onboarding/shops", shop_form(ui.fakes, 0))
        page = answer.get_data(as_text=True)
        assert answer.status_code == 400 and "is connected in another organization" in page
        assert "Acme" not in page
        # The first shop sells in GBP, the store prices in USD: the rate is asked for, next
        # to its input, and what was typed is kept (secrets excepted).
        answer = post(client, "/onboarding/shops", shop_form(fakes, 0))
        page = answer.get_data(as_text=True)
        assert answer.status_code == 400 and "Traceback" not in page
        assert re.search(r'name="currency_rate"[^>]*>\s*</label>\s*<small class="help">[^<]*'
                         r'</small>\s*<span class="field-error" role="alert">This shop sells in '
                         r"GBP and your store prices in USD: enter how many GBP one USD buys",
                         page), page
        assert f'value="{fakes.channel.connections()[0]["id"]}"' in page
        for index, rate in ((0, "0.79"), (1, None)):
            answer = post(client, "/onboarding/shops", shop_form(fakes, index, rate),
                          follow_redirects=True)
            page = answer.get_data(as_text=True)
            assert answer.status_code == 200 and "Connected Fake TikTok Shop" in page
        assert "Connect more TikTok Shop stores" in page
        with session_scope() as session:
            channels = session.exec(select(ChannelConnection).where(
                ChannelConnection.organization_id == ui.newco_id)
                .order_by(ChannelConnection.id)).all()  # type: ignore[arg-type]
            assert [c.shop_id for c in channels] == [
                fakes.channel.connections()[i]["id"] for i in (0, 1)]
            ids = [c.id for c in channels]
        # What the refresh_catalog message asks a worker to do, done here.
        assert syncing.refresh_catalog(ui.pm, ui.newco_id)
        # Step 3: the rate given when connecting is there; refused values are named per
        # shop, and nothing is saved.
        page = client.get("/onboarding/settings").get_data(as_text=True)
        assert "Your store sells in USD" in page
        assert f'name="currency_rate.{ids[0]}" value="0.79"' in page
        assert f'name="currency_rate.{ids[1]}" value="1"' in page
        answer = post(client, "/onboarding/settings", {
            f"currency_rate.{ids[0]}": "0", f"currency_rate.{ids[1]}": "1",
            f"carrier_mapping.{ids[1]}": "UPS"})
        page = answer.get_data(as_text=True)
        assert answer.status_code == 400
        assert "must be a positive number such as 0.79" in page
        assert "line 1: expected `Store carrier = provider id`" in page
        with session_scope() as session:
            untouched = session.get(ChannelSettings, ids[0])
            assert untouched is not None and untouched.auto_link
        # Auto-link on for the first shop only, order sync on for both, a rate and carriers.
        answer = post(client, "/onboarding/settings", {
            f"auto_link.{ids[0]}": "on", f"order_sync.{ids[0]}": "on",
            f"order_sync.{ids[1]}": "on", f"currency_rate.{ids[0]}": "0.8",
            f"currency_rate.{ids[1]}": "1",
            f"carrier_mapping.{ids[1]}": "UPS = 7117858858072016686\n\nDHL Express = 42"})
        assert answer.headers["Location"] == "/onboarding/done"
        with session_scope() as session:
            first, second = (session.get(ChannelSettings, i) for i in ids)
            assert first is not None and second is not None
            assert (first.auto_link, second.auto_link) == (True, False)
            assert first.order_sync and second.order_sync
            assert (first.currency_rate, second.currency_rate) == (Decimal("0.8"), 1)
            assert second.carrier_mapping == {"UPS": "7117858858072016686", "DHL Express": "42"}
        page = client.get("/onboarding/settings").get_data(as_text=True)
        assert 'value="0.8"' in page and "DHL Express = 42" in page
        done = client.get("/onboarding/done").get_data(as_text=True)
        assert "You are set up" in done and 'width: 100%' in done
        stores = client.get("/stores/").get_data(as_text=True)
        assert "Fake TikTok Shop 1" in stores and "Fake TikTok Shop 2" in stores


def test_each_connection_asks_the_workers_for_a_catalog_refresh(ui: UI) -> None:
    client = ui.signed_in(NEWCOMER)
    with running_fakes(ui.pm, products=2, variants=1, seed=11) as fakes:
        assert post(client, "/onboarding/store", store_form(fakes)).status_code == 302
        assert post(client, "/onboarding/shops", shop_form(fakes, 1)).status_code == 302
    sent = [Message.decode(data) for name in (BULK_QUEUE, dq_name(BULK_QUEUE))
            for data in list(getattr(ui.broker.queues.get(name), "queue", []))]
    assert [(m.actor_name, m.args) for m in sent] == [("refresh_catalog", (ui.newco_id,))] * 2


def test_the_demo_user_signs_in(ui: UI) -> None:
    with session_scope() as session:
        email, password = create_demo_user(session, ui.newco_id)
    client = ui.client()
    assert login(client, email, password).status_code == 302
    assert "owner" in client.get("/onboarding/store").get_data(as_text=True)
