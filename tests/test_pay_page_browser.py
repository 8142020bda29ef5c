"""The hosted pay page in a real browser: Debian's Chromium, headless, driven by
Playwright's Python package pointed at the system browser (no browser download). A client
opens the emailed pay link, sees the API's total, clicks "Pay by card", lands on the
(local, fake) Stripe Checkout, Stripe's signed webhook arrives, and the page says paid.
A screenshot of each state is saved under test-artifacts/pay-page/.

Not skipped without a browser: `.ci/run` installs Chromium when it is missing, and a
machine without one fails here saying so."""

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from tests.factories import make_actor
from tests.factories.payments import open_invoice, pay_token
from tests.fakes import (  # noqa: F401  (fixtures)
    STRIPE_WEBHOOK_SECRET,
    checkout_completed,
    stripe_api_fixture,
    stripe_server_fixture,
    stripe_signature,
)
from tests.live import serving

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "pay-page"
BROWSER = "chromium"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    path = shutil.which(BROWSER)
    assert path, (
        f"`{BROWSER}` is not installed: `apt-get install -y chromium` (Debian's package; "
        ".ci/run installs it when missing)"
    )
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=path, headless=True)
        yield launched
        await launched.close()


async def test_a_client_pays_from_the_pay_link(client, app, stripe_api, run_jobs, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=36000, methods=["stripe", "bank"])
    other = await open_invoice(client, owner, amount=5000)
    r = await client.post(owner.url(f"/invoices/{other['id']}/void"), headers=owner.headers)
    assert r.status_code == 200, r.text
    async with serving(app) as base:
        page = await browser.new_page()
        link = f"{base}/pay/{pay_token(invoice)}"
        await page.goto(link)
        # The total shown is the API's.
        total = page.locator("[data-total]")
        assert await total.get_attribute("data-total") == str(invoice["total_amount"])
        assert await total.inner_text() == "€360.00"
        assert await page.locator("[data-status]").get_attribute("data-status") == "open"
        await page.screenshot(path=ARTIFACTS / "open.png", full_page=True)

        await page.get_by_role("button", name="Pay by card").click()
        await page.wait_for_url(f"{stripe_api.base_url}/c/pay/*")
        assert await page.title() == "Fake Stripe Checkout"

        # Stripe tells Hourline, signed as Stripe signs; the worker applies it.
        body = checkout_completed(
            invoice["id"], str(owner.team_id), 36000, "EUR", f"pi_{uuid.uuid4().hex[:24]}"
        )
        r = await client.post(
            "/v1/webhooks/stripe",
            content=body.encode(),
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": stripe_signature(body, STRIPE_WEBHOOK_SECRET),
            },
        )
        assert r.status_code == 200, r.text
        assert await run_jobs() >= 1

        await page.goto(f"{link}?status=paid")  # where Stripe sends the client back
        assert await page.locator("[data-status]").get_attribute("data-status") == "paid"
        assert await page.get_by_text("This invoice is paid").is_visible()
        await page.screenshot(path=ARTIFACTS / "paid.png", full_page=True)

        await page.goto(f"{base}/pay/{pay_token(other)}")
        assert await page.locator("[data-status]").get_attribute("data-status") == "void"
        await page.screenshot(path=ARTIFACTS / "void.png", full_page=True)

        response = await page.goto(f"{base}/pay/not-a-real-token")
        assert response is not None and response.status == 404
        assert await page.get_by_role("heading", name="Invoice not found").is_visible()
        await page.screenshot(path=ARTIFACTS / "unknown.png", full_page=True)
        await page.close()
    async with httpx.AsyncClient() as http:  # the fake Checkout is a real server too
        assert (await http.get(f"{stripe_api.base_url}/c/pay/x")).status_code == 200
