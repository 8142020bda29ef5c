"""Outgoing email: composed inside a transaction, sent by a job after it commits."""

import logging
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import aiosmtplib
from arq import Retry
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.jobs import defer

log = logging.getLogger(__name__)

SEND_EMAIL_JOB = "send_email"
MAX_TRIES = 6


def queue_email(
    session: AsyncSession,
    *,
    to: list[str],
    subject: str,
    text: str,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> None:
    """Send this email once the current transaction commits (attachments: name, mime, bytes)."""
    defer(
        session,
        SEND_EMAIL_JOB,
        {"to": to, "subject": subject, "text": text, "attachments": attachments or []},
    )


def smtp_options(url: str) -> dict[str, Any]:
    """`smtp://user:pass@host:port`, `smtps://...` (TLS) or `?starttls=true`."""
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    tls = parsed.scheme == "smtps"
    return {
        "hostname": parsed.hostname or "127.0.0.1",
        "port": parsed.port or (465 if tls else 25),
        "username": unquote(parsed.username) if parsed.username else None,
        "password": unquote(parsed.password) if parsed.password else None,
        "use_tls": tls,
        "start_tls": query.get("starttls", ["false"])[0].lower() == "true",
        "timeout": 30,
    }


def build_message(sender: str, payload: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(payload["to"])
    message["Subject"] = payload["subject"]
    message.set_content(payload["text"])
    for filename, mime, data in payload.get("attachments", []):
        maintype, subtype = mime.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


async def deliver(settings: Any, message: EmailMessage) -> None:
    """Hand one message to the SMTP server of SMTP_URL."""
    await aiosmtplib.send(message, **smtp_options(settings.smtp_url))


def retry_later(ctx: dict[str, Any], exc: Exception) -> Retry | None:
    """A Retry with exponential backoff, or None once the job is out of tries."""
    tries = ctx.get("job_try", 1)
    if tries >= MAX_TRIES:
        return None
    return Retry(defer=min(5 * 2**tries, 600))


async def send_email(ctx: dict[str, Any], payload: dict[str, Any]) -> None:
    """arq job: deliver one email, retrying with backoff while the SMTP server fails."""
    settings = ctx["settings"]
    try:
        await deliver(settings, build_message(settings.mail_from, payload))
    except (aiosmtplib.SMTPException, OSError) as exc:
        retry = retry_later(ctx, exc)
        if retry is None:
            log.error("giving up on email %r to %s: %s", payload["subject"], payload["to"], exc)
            raise
        raise retry from exc
