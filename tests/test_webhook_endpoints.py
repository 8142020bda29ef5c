"""Outgoing webhook endpoints: who manages them, the secret shown once and kept sealed,
rotation, and the SSRF rules at creation."""

import base64
import ipaddress

import pytest
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from app.core.crypto import WEBHOOK_SECRETS, SecretBox
from app.core.permissions import Role
from app.webhooks.targets import address_refused
from tests.factories import make_actor
from tests.factories.webhooks import PUBLIC_URL, add_endpoint
from tests.helpers import NON_MANAGERS, assert_problem
from tests.ladder import ladder


async def _db(app, sql: str, **params):  # type: ignore[no-untyped-def]
    async with app.state.db.engine.begin() as conn:
        return (await conn.execute(text(sql), params)).all()


async def test_only_superadmin_and_org_manager_manage_endpoints(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    others = [await make_actor(app, team_id=owner.team_id, role=r) for r in NON_MANAGERS]
    manager = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    r = await ladder(
        client,
        "POST",
        "/webhook-endpoints",
        owner=owner,
        stranger=stranger,
        forbidden=others,
        json={"url": PUBLIC_URL, "event_types": ["invoice.paid"]},
        allowed=manager,
        ok=201,
    )
    endpoint = r.json()
    for path, method in [
        ("/webhook-endpoints", "GET"),
        (f"/webhook-endpoints/{endpoint['id']}", "GET"),
        (f"/webhook-endpoints/{endpoint['id']}/deliveries", "GET"),
        (f"/webhook-endpoints/{endpoint['id']}/rotate-secret", "POST"),
        (f"/webhook-endpoints/{endpoint['id']}/ping", "POST"),
        (f"/webhook-endpoints/{endpoint['id']}", "DELETE"),
    ]:
        for actor in others:
            r = await client.request(method, actor.url(path), headers=actor.headers)
            assert_problem(r, 403, "forbidden")
    r = await client.get(owner.url(f"/webhook-endpoints/{endpoint['id']}"), headers=owner.headers)
    assert r.status_code == 200 and r.json()["event_types"] == ["invoice.paid"]


async def test_secret_is_shown_once_and_stored_sealed(client, app):
    owner = await make_actor(app)
    created = await add_endpoint(client, owner, description="ERP", event_types=["client.created"])
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    Webhook(secret)  # the verifier accepts the format
    for path in ("/webhook-endpoints", f"/webhook-endpoints/{created['id']}"):
        r = await client.get(owner.url(path), headers=owner.headers)
        assert r.status_code == 200 and "whsec_" not in r.text
    (row,) = await _db(app, "SELECT secret_sealed FROM webhook_endpoint")
    assert secret not in row[0] and secret.removeprefix("whsec_") not in row[0]
    assert app.state.secrets.webhook_box.open(row[0]) == secret


async def test_crud(client, app):
    owner = await make_actor(app)
    created = await add_endpoint(client, owner, event_types=["invoice.paid", "invoice.paid"])
    assert created["event_types"] == ["invoice.paid"] and created["status"] == "enabled"
    url = owner.url(f"/webhook-endpoints/{created['id']}")
    r = await client.patch(
        url,
        json={"event_types": ["client.created", "*"], "status": "disabled"},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["event_types"] == ["*"] and r.json()["status"] == "disabled"
    assert r.json()["disabled_at"] is not None
    r = await client.patch(url, json={"url": None}, headers=owner.headers)
    assert_problem(r, 422, "field_not_nullable")
    r = await client.patch(url, json={"url": "http://127.0.0.1/x"}, headers=owner.headers)
    assert_problem(r, 422, "webhook_url_not_allowed")
    r = await client.get(owner.url("/webhook-endpoints"), headers=owner.headers)
    assert [e["id"] for e in r.json()["data"]] == [created["id"]]
    r = await client.delete(url, headers=owner.headers)
    assert r.status_code == 204
    r = await client.get(url, headers=owner.headers)
    assert_problem(r, 404, "webhook_endpoint_not_found")


async def test_rotation_keeps_the_old_secret_for_24_hours(client, app):
    owner = await make_actor(app)
    created = await add_endpoint(client, owner)
    r = await client.post(
        owner.url(f"/webhook-endpoints/{created['id']}/rotate-secret"), headers=owner.headers
    )
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new.startswith("whsec_") and new != created["secret"]
    ((current, previous, hours),) = await _db(
        app,
        "SELECT secret_sealed, previous_secret_sealed,"
        " extract(epoch FROM previous_secret_expires_at - now()) / 3600"
        " FROM webhook_endpoint",
    )
    box = app.state.secrets.webhook_box
    assert box.open(current) == new and box.open(previous) == created["secret"]
    assert 23.9 < float(hours) <= 24


BAD_URLS = {
    "ftp://93.184.215.14/x": "only https:// and http://",
    "https:///nohost": "names no host",
    "http://does-not-exist.invalid/": "does not resolve",
    "http://127.0.0.1:8000/": "loopback",
    "http://localhost/": "loopback",
    "http://10.1.2.3/": "private",
    "http://172.16.0.1/": "private",
    "http://192.168.1.1/": "private",
    "http://100.64.0.1/": "not globally routable",
    "http://169.254.169.254/latest/meta-data": "link-local",
    "http://224.0.0.1/": "multicast",
    "http://0.0.0.0/": "unspecified",
    "http://240.0.0.1/": "reserved",
    "http://[::1]/": "loopback",
    "http://[fe80::1]/": "link-local",
    "http://[fc00::1]/": "private",
    "http://[ff02::1]/": "multicast",
    "http://[::ffff:127.0.0.1]/": "loopback",
    "http://[::ffff:10.0.0.1]/": "private",
    "http://[2002:a00:1::]/": "private",  # 6to4 around 10.0.0.1
}


@pytest.mark.parametrize("url", BAD_URLS)
async def test_refused_urls(client, app, url):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/webhook-endpoints"),
        json={"url": url, "event_types": ["*"]},
        headers=owner.headers,
    )
    assert_problem(r, 422, "webhook_url_not_allowed")
    assert BAD_URLS[url] in r.json()["detail"]
    assert await _db(app, "SELECT id FROM webhook_endpoint") == []


def test_public_addresses_pass():
    for ip in ("93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"):
        assert address_refused(ipaddress.ip_address(ip)) is None


async def test_private_targets_allowed_when_configured(client, app, settings):
    owner = await make_actor(app)
    settings.webhook_allow_private_targets = True
    try:
        created = await add_endpoint(client, owner, url="http://127.0.0.1:9/x")
    finally:
        settings.webhook_allow_private_targets = False
    assert created["url"] == "http://127.0.0.1:9/x"


def test_sealed_secrets_open_only_under_their_key_and_purpose():
    box = SecretBox("server key", WEBHOOK_SECRETS)
    sealed = box.seal("whsec_abc")
    assert box.open(sealed) == "whsec_abc"
    assert box.seal("whsec_abc") != sealed  # a fresh nonce each time
    for other in (SecretBox("another key", WEBHOOK_SECRETS), SecretBox("server key", "other")):
        with pytest.raises(ValueError):
            other.open(sealed)
    raw = bytearray(base64.urlsafe_b64decode(sealed.split(".", 1)[1]))
    raw[-1] ^= 1
    with pytest.raises(ValueError):
        box.open("v1." + base64.urlsafe_b64encode(bytes(raw)).decode())
