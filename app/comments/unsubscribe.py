"""The unsubscribe link of a contact's conversation emails: a signed token, no login.

The token is `<team id>.<contact id>.<signature>`, the signature an HMAC-SHA256 of the
two ids and this purpose keyed with SECRET_KEY (`Secrets.keyed_hash`, as login links
and refresh tokens are hashed): nothing is stored, the ids cannot be changed without
the key, and a link keeps working (turning the digest off again changes nothing).
"""

import hmac
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.comments.models import ContactDigest
from app.config import Settings
from app.contacts.models import Contact
from app.core.errors import NotFound
from app.core.security import Secrets
from app.core.tenancy import enter_team, in_team

_PURPOSE = "conversation emails unsubscribe"


def _signature(secrets: Secrets, team_id: uuid.UUID, contact_id: uuid.UUID) -> str:
    return secrets.keyed_hash(f"{_PURPOSE}:{team_id}:{contact_id}")


def unsubscribe_token(secrets: Secrets, team_id: uuid.UUID, contact_id: uuid.UUID) -> str:
    return f"{team_id}.{contact_id}.{_signature(secrets, team_id, contact_id)}"


def unsubscribe_link(
    settings: Settings, secrets: Secrets, team_id: uuid.UUID, contact_id: uuid.UUID
) -> str:
    """The front end's page that confirms and posts the token to `POST /v1/unsubscribe`."""
    token = unsubscribe_token(secrets, team_id, contact_id)
    return f"{settings.front_url}/portal/unsubscribe?token={token}"


def _invalid() -> NotFound:
    return NotFound("Unsubscribe link", code="invalid_unsubscribe_token")


def _verified(secrets: Secrets, token: str) -> tuple[uuid.UUID, uuid.UUID]:
    parts = token.split(".")
    if len(parts) != 3:
        raise _invalid()
    try:
        team_id, contact_id = uuid.UUID(parts[0]), uuid.UUID(parts[1])
    except ValueError:
        raise _invalid() from None
    if not hmac.compare_digest(parts[2], _signature(secrets, team_id, contact_id)):
        raise _invalid()
    return team_id, contact_id


async def unsubscribe(session: AsyncSession, secrets: Secrets, token: str) -> None:
    """Turn the contact's digest (and mention emails) off; a forged or stale link is 404."""
    team_id, contact_id = _verified(secrets, token)
    # The signed token named the team: the transaction is confined to it before any read.
    await enter_team(session, team_id)
    found = await session.scalar(
        select(Contact.id).where(in_team(Contact, team_id), Contact.id == contact_id)
    )
    if found is None:
        raise _invalid()
    now = datetime.now(UTC)
    await session.execute(
        insert(ContactDigest)
        .values(team_id=team_id, contact_id=contact_id, after_event_id=0, unsubscribed_at=now)
        .on_conflict_do_update(
            index_elements=[ContactDigest.contact_id],
            set_={"unsubscribed_at": now},
            where=ContactDigest.unsubscribed_at.is_(None),
        )
    )
