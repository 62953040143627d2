"""Signing in, CSRF, cookies, roles and organization isolation, on every route of the UI."""

from __future__ import annotations

import pytest
from sqlmodel import select

from shelfsync.core.db import session_scope
from shelfsync.core.models import ChannelSettings, OrderBinding, SkuLink
from shelfsync.web.app import create_app

from .conftest import MEMBER, OTHER, OWNER, PASSWORD, UI, login, post, token


def pages(ui: UI) -> list[str]:
    channel = ui.acme.channel_ids[0]
    return ["/", "/stores/", "/products/", "/orders/", "/activity/", "/onboarding/",
            "/onboarding/store", "/onboarding/shops", "/onboarding/settings", "/onboarding/done",
            f"/channels/{channel}/settings", f"/channels/{channel}/preview?percent=50",
            f"/activity/chart/{channel}.svg"]


def test_every_page_needs_a_sign_in(ui: UI) -> None:
    client = ui.client()
    for path in pages(ui):
        answer = client.get(path)
        assert answer.status_code == 302, path
        assert "/login" in answer.headers["Location"], path
    json = client.get(pages(ui)[-2], headers={"Accept": "application/json"})
    assert json.status_code == 401
    # Every page answers once signed in.
    signed = ui.signed_in(OWNER)
    for path in pages(ui):
        assert signed.get(path).status_code in (200, 302), path


def test_every_post_needs_a_csrf_token(ui: UI) -> None:
    anonymous = ui.client()
    assert anonymous.post("/login", data={"email": OWNER, "password": PASSWORD}).status_code == 400
    client = ui.signed_in(OWNER)
    channel = ui.acme.channel_ids[0]
    for path in ["/logout", f"/channels/{channel}/settings", "/orders/retry-failed",
                 "/products/link", f"/stores/channels/{channel}/disconnect",
                 "/stores/store/disconnect", "/onboarding/store", "/onboarding/shops",
                 "/onboarding/settings"]:
        answer = client.post(path, data={"confirm": "yes", "percent": "1"})
        assert answer.status_code == 400, path
        assert "valid token" in answer.get_data(as_text=True), path
    # Nothing was changed or disconnected by the refused posts.
    assert client.get(f"/channels/{channel}/settings").status_code == 200
    with session_scope() as session:
        settings = session.get(ChannelSettings, channel)
        assert settings is not None and settings.percent == 100


def test_sign_in_sets_a_secure_httponly_samesite_cookie_and_sign_out_ends_it(ui: UI) -> None:
    client = ui.client()
    answer = login(client, OWNER)
    assert answer.status_code == 302 and answer.headers["Location"] == "/stores/"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert client.get("/stores/").status_code == 200
    assert post(client, "/logout").status_code == 302
    assert client.get("/stores/").status_code == 302


def test_next_is_followed_only_to_this_site(ui: UI) -> None:
    client = ui.client()
    csrf = token(client)
    data = {"email": OWNER, "password": PASSWORD, "csrf_token": csrf}
    answer = client.post("/login?next=//evil.example/x", data=data)
    assert answer.headers["Location"] == "/stores/"
    post(client, "/logout")
    answer = client.post("/login?next=/orders/", data={**data, "csrf_token": token(client)})
    assert answer.headers["Location"] == "/orders/"


def test_wrong_passwords_are_slowed_down(ui: UI) -> None:
    client = ui.client()
    for _ in range(3):
        answer = login(client, OWNER, "wrong password")
        assert answer.status_code == 401
        assert "Wrong email or password." in answer.get_data(as_text=True)
    # Locked now: even the right password is not checked until the wait is over.
    answer = login(client, OWNER)
    assert answer.status_code == 429
    assert "try again in 2 seconds" in answer.get_data(as_text=True)
    ui.clock.advance(2)
    assert login(client, OWNER, "wrong again").status_code == 401
    answer = login(client, OWNER)
    assert answer.status_code == 429 and "in 4 seconds" in answer.get_data(as_text=True)
    ui.clock.advance(4)
    assert login(client, OWNER).status_code == 302
    # A success clears the count.
    post(client, "/logout")
    assert login(client, OWNER, "one slip").status_code == 401
    assert login(client, OWNER).status_code == 302


def test_an_unknown_email_fails_like_a_wrong_password(ui: UI) -> None:
    answer = login(ui.client(), "nobody@acme.example")
    assert answer.status_code == 401
    assert "Wrong email or password." in answer.get_data(as_text=True)


def test_another_organizations_ids_answer_404(ui: UI) -> None:
    client = ui.signed_in(OTHER)
    channel = ui.acme.channel_ids[0]
    with session_scope() as session:
        link = session.exec(select(SkuLink).where(SkuLink.channel_id == channel)).first()
        assert link is not None
        session.add(OrderBinding(channel_id=channel, channel_order_id="577000000000000001",
                                 status="failed"))
        session.flush()
        order_id = session.exec(select(OrderBinding.id)).one()
    for path in [f"/channels/{channel}/settings", f"/channels/{channel}/preview?percent=5",
                 f"/activity/chart/{channel}.svg", f"/orders/?channel={channel}",
                 f"/activity/?channel={channel}"]:
        assert client.get(path).status_code == 404, path
    for path, data in [(f"/channels/{channel}/settings", {"percent": "1", "threshold": "0"}),
                       (f"/stores/channels/{channel}/disconnect", {"confirm": "yes"}),
                       (f"/orders/{order_id}/retry", {}),
                       (f"/products/unlink/{channel}/{link.id}", {}),
                       ("/products/link", {"channel_id": str(channel), "store_sku": link.store_sku,
                                           "sku_id": link.sku_id})]:
        assert post(client, path, data).status_code == 404, path
    with session_scope() as session:
        assert session.get(SkuLink, link.id) is not None
        settings = session.get(ChannelSettings, channel)
        assert settings is not None and settings.percent == 100
    # Its own pages list only its own shops.
    own = client.get("/stores/").get_data(as_text=True)
    assert f'data-channel="{ui.other.channel_ids[0]}"' in own
    assert f'data-channel="{channel}"' not in own


def test_members_read_and_admins_change(ui: UI) -> None:
    member = ui.signed_in(MEMBER)
    channel = ui.acme.channel_ids[0]
    page = member.get(f"/channels/{channel}/settings").get_data(as_text=True)
    assert "Save settings" not in page
    assert member.get(f"/channels/{channel}/preview?percent=50").status_code == 200
    for path in [f"/channels/{channel}/settings", "/orders/retry-failed",
                 f"/stores/channels/{channel}/disconnect", "/onboarding/settings"]:
        answer = post(member, path, {"percent": "10", "threshold": "0", "confirm": "yes"})
        assert answer.status_code == 403, path
    with session_scope() as session:
        settings = session.get(ChannelSettings, channel)
        assert settings is not None and settings.percent == 100
    owner = ui.signed_in(OWNER)
    assert "Save settings" in owner.get(f"/channels/{channel}/settings").get_data(as_text=True)


@pytest.mark.parametrize("database_backend", ["sqlite"])
def test_a_database_that_does_not_answer_gets_a_calm_page_and_one_log_line(
        ui: UI, caplog: pytest.LogCaptureFixture) -> None:
    down = create_app({"TESTING": True, "PLUGIN_MANAGER": ui.pm,
                       "DATABASE_URL": "postgresql://shelfsync:secret-pw@127.0.0.1:1/none"})
    client = down.test_client()
    answer = post(client, "/login", {"email": OWNER, "password": PASSWORD})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503 and "The database did not answer" in page
    assert "Traceback" not in page and "secret-pw" not in page
    lines = [r.getMessage() for r in caplog.records if r.name == "shelfsync.web.ui"]
    assert len(lines) == 1 and "secret-pw" not in lines[0] and "127.0.0.1:1" in lines[0]
    down.extensions["shelfsync.engine"].dispose()
