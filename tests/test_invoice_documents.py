"""What an invoice becomes outside the API: its PDF (rendered with Typst, cached per
version), the email to the client's contacts (sent by the worker, retried when SMTP
fails), and the public pay link."""

import io
import re
import secrets
import time
import uuid
from urllib.parse import urlparse

import aiosmtplib
import pypdf
import pytest
from sqlalchemy import text

from app.invoices.jobs import send_invoice
from app.worker import build_worker
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.invoices import (
    MARCH,
    create_invoice,
    finalize,
    get_invoice,
    invoice_mails,
    manual_draft,
    number,
)
from tests.factories.rates import add_rate
from tests.factories.time_tracking import add_entry
from tests.helpers import assert_problem, at

CONTACTS = [("Pat Payer", "pat@example.com"), ("Ada Accounts", "ada@example.com")]
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


async def pdf_rows(app, invoice_id: str) -> list[tuple[int, bytes]]:
    async with app.state.db.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT version, content FROM invoice_pdf WHERE invoice_id = :i"),
            {"i": uuid.UUID(invoice_id)},
        )
        return [(v, bytes(c)) for v, c in rows.all()]


async def invoice_version(app, invoice_id: str) -> int:
    async with app.state.db.engine.connect() as conn:
        return await conn.scalar(
            text("SELECT version FROM invoice WHERE id = :i"), {"i": uuid.UUID(invoice_id)}
        )


async def billed_client(client, owner, *, contacts=CONTACTS, **extra) -> tuple[str, dict]:
    """A client with 3 hours at 120.00 EUR in March: a 360.00 EUR draft; `contacts` are
    its billing contacts."""
    cid, pid = await new_client_project(
        client, owner, "Globex", contacts=contacts, billing_contacts=True, **extra
    )
    await add_rate(client, owner, 12000)
    for day in (2, 3, 4):
        await add_entry(client, owner, pid, at(day, 9), 3600)
    inv = await create_invoice(client, owner, cid, **MARCH)
    assert inv["total_amount"] == 36000
    return cid, inv


def pdf_attachments(message) -> list:
    return [
        part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"
    ]


# ------------------------------------------------------------------ PDF


async def test_pdf_is_rendered_cached_per_version_and_re_rendered_on_change(client, app):
    owner = await make_actor(app)
    _, inv = await billed_client(client, owner)
    url = owner.url(f"/invoices/{inv['id']}/pdf")

    r = await client.get(url, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    first = r.content
    assert first.startswith(b"%PDF")
    words = pdf_text(first)
    assert "Draft invoice" in words
    assert "Globex" in words
    assert "360.00 EUR" in words

    # The second request is served from the stored render: one row, same bytes.
    r = await client.get(url, headers=owner.headers)
    assert r.content == first
    rows = await pdf_rows(app, inv["id"])
    assert len(rows) == 1
    assert rows[0] == (await invoice_version(app, inv["id"]), first)
    # Proof that nothing is rendered again: what the cache holds is what is served.
    marker = b"%PDF-1.7\n% cached copy\n"
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE invoice_pdf SET content = :c WHERE invoice_id = :i"),
            {"c": marker, "i": uuid.UUID(inv["id"])},
        )
    r = await client.get(url, headers=owner.headers)
    assert r.content == marker

    # A change is a new version, which is rendered afresh (and replaces the cached one).
    r = await client.patch(
        owner.url(f"/invoices/{inv['id']}"),
        json={"notes": "Thanks for the fish"},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    r = await client.get(url, headers=owner.headers)
    assert r.content != marker and r.content.startswith(b"%PDF")
    assert "Thanks for the fish" in pdf_text(r.content)
    rows = await pdf_rows(app, inv["id"])
    assert rows == [(await invoice_version(app, inv["id"]), r.content)]

    # Issuing is a change too: the PDF now carries the number and the total.
    issued = await finalize(client, owner, inv["id"])
    r = await client.get(url, headers=owner.headers)
    assert r.status_code == 200
    assert r.content.startswith(b"%PDF")
    words = pdf_text(r.content)
    assert issued["number"] == number(1)
    assert issued["number"] in words
    assert "360.00 EUR" in words
    assert "Draft invoice" not in words
    issued_pdf = r.content
    r = await client.get(url, headers=owner.headers)
    assert r.content == issued_pdf
    assert len(await pdf_rows(app, inv["id"])) == 1


async def test_pdf_formats_amounts_in_the_currency_digits(client, app):
    owner = await make_actor(app)
    cid, _ = await new_client_project(client, owner, "Kuwait Trading", "KWD")
    inv = await create_invoice(
        client,
        owner,
        cid,
        lines=[{"description": "Hardware", "quantity": "1", "unit_amount": 1234567}],
    )
    r = await client.get(owner.url(f"/invoices/{inv['id']}/pdf"), headers=owner.headers)
    assert r.status_code == 200
    words = pdf_text(r.content)
    assert "1,234.567 KWD" in words
    assert "Hardware" in words


# ------------------------------------------------------------------ email


async def test_send_emails_the_billing_contacts_with_the_pdf(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    _, inv = await billed_client(client, owner)
    await run_jobs()  # the contacts' portal invitations: links into the front end
    portal_links = [m for m in mailbox.messages if "/portal/login?token=" in str(m)]
    assert len(portal_links) == len(CONTACTS)
    assert all("https://app.hourline.test/portal/login?token=" in str(m) for m in portal_links)
    mailbox.messages.clear()
    issued = await finalize(client, owner, inv["id"])

    r = await client.post(owner.url(f"/invoices/{inv['id']}/send"), headers=owner.headers)
    assert r.status_code == 202, r.text
    assert r.json()["send_status"] == "queued"
    assert r.json()["sent_at"] is None
    assert invoice_mails(mailbox) == []

    assert await run_jobs() >= 1
    [message] = invoice_mails(mailbox)
    recipients = {a.strip() for a in message["To"].split(",")}
    assert recipients == {email for _, email in CONTACTS}
    assert issued["number"] in message["Subject"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "360.00 EUR" in body
    # The pay link is the API's hosted pay page, in the email and in the PDF.
    assert issued["pay_url"].startswith("https://api.hourline.test/pay/")
    assert issued["pay_url"] in body
    [attachment] = pdf_attachments(message)
    assert attachment.get_filename() == f"{issued['number']}.pdf"
    content = attachment.get_content()
    assert content.startswith(b"%PDF")
    assert issued["number"] in pdf_text(content)
    assert issued["pay_url"] in pdf_text(content).replace("\n", "")

    sent = await get_invoice(client, owner, inv["id"])
    assert sent["send_status"] == "sent"
    assert sent["sent_at"] is not None
    assert sent["send_error"] is None
    assert sent["status"] == "open"


async def test_sending_a_draft_finalizes_it_first(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    _, inv = await billed_client(client, owner)
    assert inv["status"] == "draft"

    r = await client.post(owner.url(f"/invoices/{inv['id']}/send"), headers=owner.headers)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "open"
    assert r.json()["number"] == number(1)
    assert r.json()["issue_date"] is not None

    await run_jobs()
    [message] = invoice_mails(mailbox)
    [attachment] = pdf_attachments(message)
    assert attachment.get_filename() == f"{number(1)}.pdf"
    assert (await get_invoice(client, owner, inv["id"]))["send_status"] == "sent"


async def test_sending_needs_a_billing_email(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    _, inv = await billed_client(client, owner, contacts=[])

    r = await client.post(owner.url(f"/invoices/{inv['id']}/send"), headers=owner.headers)
    assert_problem(r, 422, "no_billing_contact")
    # Nothing happened: still a draft, and no number was used up.
    unchanged = await get_invoice(client, owner, inv["id"])
    assert (unchanged["status"], unchanged["number"], unchanged["send_status"]) == (
        "draft",
        None,
        None,
    )
    await run_jobs()
    assert invoice_mails(mailbox) == []
    assert (await finalize(client, owner, inv["id"]))["number"] == number(1)

    # The client's own email is used when it has no contacts.
    cid, _ = await new_client_project(client, owner, "Solo", email="solo@example.com")
    solo = await manual_draft(client, owner, cid)
    r = await client.post(owner.url(f"/invoices/{solo['id']}/send"), headers=owner.headers)
    assert r.status_code == 202, r.text
    await run_jobs()
    [message] = invoice_mails(mailbox)
    assert message["To"] == "solo@example.com"


async def test_smtp_failure_keeps_the_invoice_queued_then_it_is_sent(
    client, app, settings, mailbox, run_jobs, monkeypatch
):
    owner = await make_actor(app)
    _, inv = await billed_client(client, owner)
    await run_jobs()  # the contacts' portal invitations
    mailbox.messages.clear()
    issued = await finalize(client, owner, inv["id"])
    working_smtp = settings.smtp_url
    monkeypatch.setattr(settings, "smtp_url", "smtp://127.0.0.1:1")

    r = await client.post(owner.url(f"/invoices/{inv['id']}/send"), headers=owner.headers)
    assert r.status_code == 202, r.text
    # One real worker pass (production retry settings) over the one queued job.
    worker = build_worker(settings, burst=True, poll_delay=0.01, max_burst_jobs=1)
    try:
        await worker.async_run()
        assert worker.jobs_retried == 1, (worker.jobs_complete, worker.jobs_failed)
    finally:
        await worker.close()

    failed = await get_invoice(client, owner, inv["id"])
    assert failed["send_status"] == "queued"
    assert failed["send_error"]
    assert failed["sent_at"] is None
    assert invoice_mails(mailbox) == []
    # The job is still in the queue, deferred with a backoff.
    [job] = [j for j in await app.state.redis.queued_jobs() if j.function == "send_invoice"]
    assert job.args == (str(owner.team_id), inv["id"])
    assert job.score > time.time() * 1000 + 5_000

    # SMTP is back: the retry sends it.
    monkeypatch.setattr(settings, "smtp_url", working_smtp)
    ctx = {"db": app.state.db, "redis": app.state.redis, "settings": settings, "job_try": 2}
    assert await send_invoice(ctx, str(owner.team_id), inv["id"]) == "sent"

    [message] = invoice_mails(mailbox)
    [attachment] = pdf_attachments(message)
    assert attachment.get_filename() == f"{issued['number']}.pdf"
    assert attachment.get_content().startswith(b"%PDF")
    sent = await get_invoice(client, owner, inv["id"])
    assert (sent["send_status"], sent["send_error"]) == ("sent", None)
    assert sent["sent_at"] is not None


async def test_send_job_gives_up_after_the_last_try_and_records_failure(
    client, app, settings, mailbox, monkeypatch
):
    owner = await make_actor(app)
    _, inv = await billed_client(client, owner)
    await finalize(client, owner, inv["id"])
    r = await client.post(owner.url(f"/invoices/{inv['id']}/send"), headers=owner.headers)
    assert r.status_code == 202, r.text
    monkeypatch.setattr(settings, "smtp_url", "smtp://127.0.0.1:1")

    ctx = {"db": app.state.db, "redis": app.state.redis, "settings": settings, "job_try": 6}
    with pytest.raises((aiosmtplib.SMTPException, OSError)):
        await send_invoice(ctx, str(owner.team_id), inv["id"])
    failed = await get_invoice(client, owner, inv["id"])
    assert failed["send_status"] == "failed"
    assert failed["send_error"]
    assert failed["sent_at"] is None


# ------------------------------------------------------------------ public pay link


async def test_pay_link_shows_the_invoice_summary_without_auth(client, app, settings):
    owner = await make_actor(app)
    cid, inv = await billed_client(client, owner)
    issued = await finalize(client, owner, inv["id"])

    pay_url = urlparse(issued["pay_url"])
    assert issued["pay_url"].startswith("https://api.hourline.test/pay/")
    token = pay_url.path.rsplit("/", 1)[1]
    assert len(token) >= 20

    r = await client.get(f"/v1/pay/{token}")  # the JSON behind the hosted page
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["number"] == issued["number"]
    assert summary["currency"] == "EUR"
    for field in (
        "subtotal_amount",
        "discount_amount",
        "tax_amount",
        "total_amount",
        "amount_paid",
        "amount_due",
    ):
        assert summary[field] == issued[field], field
    assert summary["total_amount"] == summary["amount_due"] == 36000
    assert summary["lines"] == [
        {"description": line["description"], "amount": line["amount"]} for line in issued["lines"]
    ]
    # Only this invoice: no ids of it or of anything else (client, entries, users, team).
    assert not UUID_RE.search(r.text), r.text
    assert not {"id", "client_id", "time_entry_ids", "pay_url", "run_id"} & set(summary)
    assert str(owner.team_id) not in r.text and cid not in r.text


async def test_pay_link_of_a_draft_or_unknown_token_is_404(client, app):
    owner = await make_actor(app)
    _, inv = await billed_client(client, owner)
    draft_path = "/v1/pay/" + urlparse(inv["pay_url"]).path.rsplit("/", 1)[1]
    r = await client.get(draft_path)
    assert_problem(r, 404)
    r = await client.get(f"/v1/pay/{secrets.token_urlsafe(24)}")
    assert_problem(r, 404)
    # Once issued, the same link works.
    await finalize(client, owner, inv["id"])
    r = await client.get(draft_path)
    assert r.status_code == 200, r.text
