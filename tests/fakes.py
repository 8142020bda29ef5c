"""Local fakes of the paid services outside Hourline: the Stripe API and a PassimPay-style
crypto gateway, each a real HTTP server on 127.0.0.1 (uvicorn in a background thread).

They record what Hourline sent them, answer like the real service would, and help tests
play the provider's other half: signing webhook bodies the way the provider does.

Use from a test module (fixture functions are imported under a different name than the
fixture, so that test parameters do not shadow an import):

    from tests.fakes import crypto_gateway_fixture, stripe_api_fixture  # noqa: F401

    async def test_x(stripe_api, crypto_gateway): ...

`stripe_api` / `crypto_gateway` also point the shared `settings` at the fake (restored
after the test by monkeypatch) and forget earlier requests.
"""

import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
import stripe
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

STRIPE_SECRET_KEY = "sk_test_x"
STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
CRYPTO_API_KEY = "crypto-api-key-test"
CRYPTO_WEBHOOK_SECRET = "crypto-webhook-secret-test"


# ------------------------------------------------------------------ serving


class LocalServer:
    """An ASGI app served by uvicorn on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(self, app: Any) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        self.port: int = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    def start(self) -> "LocalServer":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@dataclass
class Recorded:
    """One request a fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    form: dict[str, str] = field(default_factory=dict)  # Stripe: flat `a[b][c]` keys
    json: Any = None  # crypto gateway


# ------------------------------------------------------------------ Stripe


class FakeStripe:
    """The few Stripe API endpoints Hourline calls, answering like api.stripe.com.

    stripe-python sends form-encoded bodies with nested keys flattened
    (`metadata[invoice_id]=...`, `line_items[0][price_data][currency]=usd`); `form` keeps
    them flat as sent.
    """

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.base_url = ""  # set once served
        self.secret_key = STRIPE_SECRET_KEY
        self._ids = itertools.count(1)
        # Like api.stripe.com: a repeated Idempotency-Key returns the first response.
        self._idempotent: dict[str, dict] = {}
        self._created: set[str] = set()
        self.app = Starlette(
            routes=[
                Route("/v1/customers", self._customers, methods=["POST"]),
                Route("/v1/checkout/sessions", self._sessions, methods=["POST"]),
                # The hosted Checkout page a session's `url` leads to.
                Route("/c/pay/{sid}", self._checkout_page, methods=["GET"]),
            ]
        )

    def reset(self) -> None:
        self.requests.clear()
        self._created.clear()
        self._idempotent.clear()

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    @property
    def customers(self) -> list[Recorded]:
        return self.calls("/v1/customers")

    @property
    def sessions(self) -> list[Recorded]:
        return self.calls("/v1/checkout/sessions")

    async def _record(self, request: Request) -> Recorded | JSONResponse:
        body = await request.body()
        rec = Recorded(
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            form=dict(parse_qsl(body.decode(), keep_blank_values=True)),
        )
        self.requests.append(rec)
        if rec.headers.get("authorization") != f"Bearer {self.secret_key}":
            return JSONResponse(
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "Invalid API Key provided",
                    }
                },
                status_code=401,
            )
        return rec

    @property
    def created_customers(self) -> set[str]:
        """Distinct customers the fake created (idempotent repeats excluded)."""
        return set(self._created)

    async def _customers(self, request: Request) -> JSONResponse:
        rec = await self._record(request)
        if isinstance(rec, JSONResponse):
            return rec
        key = rec.headers.get("idempotency-key")
        if key and f"cus:{key}" in self._idempotent:
            return JSONResponse(self._idempotent[f"cus:{key}"])
        f = rec.form
        body = {
            "id": f"cus_test{next(self._ids):04d}",
            "object": "customer",
            "created": int(time.time()),
            "livemode": False,
            "name": f.get("name"),
            "email": f.get("email"),
            "metadata": _sub(f, "metadata"),
        }
        self._created.add(body["id"])
        if key:
            self._idempotent[f"cus:{key}"] = body
        return JSONResponse(body)

    async def _checkout_page(self, request: Request) -> HTMLResponse:
        sid = request.path_params["sid"]
        return HTMLResponse(f"<!doctype html><title>Fake Stripe Checkout</title><h1>{sid}</h1>")

    async def _sessions(self, request: Request) -> JSONResponse:
        rec = await self._record(request)
        if isinstance(rec, JSONResponse):
            return rec
        f = rec.form
        sid = f"cs_test_{next(self._ids):04d}{uuid.uuid4().hex[:8]}"
        return JSONResponse(
            {
                "id": sid,
                "object": "checkout.session",
                "url": f"{self.base_url}/c/pay/{sid}",
                "mode": f.get("mode"),
                "status": "open",
                "payment_status": "unpaid",
                "customer": f.get("customer"),
                "amount_total": int(f.get("line_items[0][price_data][unit_amount]", "0")),
                "currency": f.get("line_items[0][price_data][currency]"),
                "metadata": _sub(f, "metadata"),
                "payment_intent": None,
                "success_url": f.get("success_url"),
                "cancel_url": f.get("cancel_url"),
                "livemode": False,
                "created": int(time.time()),
            }
        )


def _sub(form: dict[str, str], prefix: str) -> dict[str, str]:
    """`metadata[a]=1` -> {"a": "1"} (one level, as Stripe stores metadata)."""
    start = f"{prefix}["
    return {k[len(start) : -1]: v for k, v in form.items() if k.startswith(start)}


def stripe_signature(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header as Stripe sends it, computed by stripe-python itself."""
    ts = int(time.time()) if timestamp is None else timestamp
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=ts)


def stripe_event(kind: str, obj: dict[str, Any], event_id: str | None = None) -> str:
    """The JSON body of a Stripe event (as Stripe serializes it: one exact string)."""
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "api_version": "2025-03-31.basil",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "type": kind,
            "data": {"object": obj},
        },
        indent=2,
    )


def checkout_completed(
    invoice_id: str,
    team_id: str,
    amount: int,
    currency: str,
    payment_intent: str,
    *,
    payment_status: str = "paid",
    event_id: str | None = None,
) -> str:
    return stripe_event(
        "checkout.session.completed",
        {
            "id": f"cs_test_{uuid.uuid4().hex[:12]}",
            "object": "checkout.session",
            "mode": "payment",
            "status": "complete",
            "payment_status": payment_status,
            "amount_total": amount,
            "amount_subtotal": amount,
            "currency": currency.lower(),
            "payment_intent": payment_intent,
            "metadata": {"invoice_id": invoice_id, "team_id": team_id},
        },
        event_id,
    )


def payment_intent_event(
    kind: str,
    invoice_id: str,
    team_id: str,
    amount: int,
    currency: str,
    payment_intent: str,
    *,
    error: str | None = None,
    event_id: str | None = None,
) -> str:
    """`payment_intent.succeeded` or `payment_intent.payment_failed`."""
    succeeded = kind == "payment_intent.succeeded"
    obj: dict[str, Any] = {
        "id": payment_intent,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if succeeded else 0,
        "currency": currency.lower(),
        "status": "succeeded" if succeeded else "requires_payment_method",
        "metadata": {"invoice_id": invoice_id, "team_id": team_id},
        "last_payment_error": None
        if succeeded
        else {"code": "card_declined", "message": error or "Your card was declined."},
    }
    return stripe_event(kind, obj, event_id)


def charge_refunded(
    payment_intent: str,
    amount: int,
    currency: str,
    refunds: list[tuple[str, int]],
    *,
    charge_id: str | None = None,
    event_id: str | None = None,
) -> str:
    """`charge.refunded` with the charge's refunds (newest first, as Stripe lists them)."""
    charge = charge_id or f"ch_{uuid.uuid4().hex[:16]}"
    return stripe_event(
        "charge.refunded",
        {
            "id": charge,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": sum(a for _, a in refunds),
            "currency": currency.lower(),
            "payment_intent": payment_intent,
            "paid": True,
            "refunded": sum(a for _, a in refunds) >= amount,
            "refunds": {
                "object": "list",
                "data": [
                    {
                        "id": rid,
                        "object": "refund",
                        "amount": a,
                        "charge": charge,
                        "currency": currency.lower(),
                        "payment_intent": payment_intent,
                        "status": "succeeded",
                    }
                    for rid, a in refunds
                ],
                "has_more": False,
            },
        },
        event_id,
    )


# ------------------------------------------------------------------ crypto gateway


class FakeCryptoGateway:
    """POST /v1/orders as in docs/payments.md: Bearer key, JSON in, {id, url} out."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.base_url = ""  # set once served
        self.api_key = CRYPTO_API_KEY
        self._ids = itertools.count(1)
        # Like api.stripe.com: a repeated Idempotency-Key returns the first response.
        self._idempotent: dict[str, dict] = {}
        self._created: set[str] = set()
        self.app = Starlette(routes=[Route("/v1/orders", self._orders, methods=["POST"])])

    def reset(self) -> None:
        self.requests.clear()

    @property
    def orders(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v1/orders"]

    async def _orders(self, request: Request) -> JSONResponse:
        body = await request.body()
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        rec = Recorded(
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            json=data,
        )
        self.requests.append(rec)
        if rec.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if not isinstance(data, dict) or not {"reference", "amount", "currency"} <= data.keys():
            return JSONResponse({"error": "bad order"}, status_code=400)
        order_id = f"ord_{next(self._ids):04d}{uuid.uuid4().hex[:8]}"
        return JSONResponse(
            {"id": order_id, "url": f"https://pay.crypto.test/order/{order_id}"}, status_code=201
        )


def crypto_signature(body: bytes, secret: str = CRYPTO_WEBHOOK_SECRET) -> str:
    """X-Signature of a gateway callback: hex(HMAC-SHA256(secret, raw body))."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def crypto_callback(
    order_id: str,
    status: str,
    amount: str,
    currency: str,
    *,
    txid: str | None = None,
    event_id: str | None = None,
    reason: str | None = None,
    refund_id: str | None = None,
) -> bytes:
    """The raw body of a gateway callback. For `refunded`, `txid` names the refunded
    payment and `refund_id` the refund (docs/payments.md)."""
    body: dict[str, Any] = {
        "event_id": event_id or f"cb_{uuid.uuid4().hex}",
        "order_id": order_id,
        "status": status,
        "amount": amount,
        "currency": currency,
        "txid": txid or f"0x{uuid.uuid4().hex}{uuid.uuid4().hex}",
    }
    if reason is not None:
        body["reason"] = reason
    if refund_id is not None:
        body["refund_id"] = refund_id
    return json.dumps(body).encode()


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session", name="stripe_server")
def stripe_server_fixture() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    server = LocalServer(fake.app).start()
    fake.base_url = server.base_url
    yield fake
    server.stop()


@pytest.fixture(name="stripe_api")
def stripe_api_fixture(
    stripe_server: FakeStripe, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> FakeStripe:
    """The fake Stripe, configured in `settings` (API and webhook secret) for this test."""
    stripe_server.reset()
    monkeypatch.setattr(settings, "stripe_secret_key", STRIPE_SECRET_KEY)
    monkeypatch.setattr(settings, "stripe_webhook_secret", STRIPE_WEBHOOK_SECRET)
    monkeypatch.setattr(settings, "stripe_api_base", stripe_server.base_url)
    return stripe_server


@pytest.fixture(scope="session", name="crypto_server")
def crypto_server_fixture() -> Iterator[FakeCryptoGateway]:
    fake = FakeCryptoGateway()
    server = LocalServer(fake.app).start()
    fake.base_url = server.base_url
    yield fake
    server.stop()


@pytest.fixture(name="crypto_gateway")
def crypto_gateway_fixture(
    crypto_server: FakeCryptoGateway, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> FakeCryptoGateway:
    """The fake gateway, configured in `settings` (base, API key, callback secret)."""
    crypto_server.reset()
    monkeypatch.setattr(settings, "crypto_api_base", crypto_server.base_url)
    monkeypatch.setattr(settings, "crypto_api_key", CRYPTO_API_KEY)
    monkeypatch.setattr(settings, "crypto_webhook_secret", CRYPTO_WEBHOOK_SECRET)
    return crypto_server
