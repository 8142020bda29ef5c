"""The unsubscribe link of every conversation email: a signed token, no login.

A contact's token is `<team id>.<contact id>.<signature>` and turns its digest and
mention emails off; a team member's is `u.<team id>.<user id>.<signature>` and turns off
its emails of comments on its projects and of mentions, in that team. The signature is
an HMAC-SHA256 of the ids, the kind and this purpose keyed with SECRET_KEY
(`Secrets.keyed_hash`, as login links and refresh tokens are hashed): nothing is stored,
the ids cannot be changed without the key, and a link keeps working (turning the emails
off again changes nothing).
"""

import hmac
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.comments.models import ContactDigest
from app.config import Settings
from app.contacts.models import Contact
from app.core.errors import NotFound
from app.core.security import Secrets
from app.core.tenancy import enter_team, in_team
from app.teams.models import Membership

_PURPOSE = "conversation emails unsubscribe"


_MEMBER = "u"


def _signature(
    secrets: Secrets, team_id: uuid.UUID, who: uuid.UUID, *, member: bool = False
) -> str:
    kind = f"{_MEMBER}:" if member else ""
    return secrets.keyed_hash(f"{_PURPOSE}:{kind}{team_id}:{who}")


def unsubscribe_token(secrets: Secrets, team_id: uuid.UUID, contact_id: uuid.UUID) -> str:
    return f"{team_id}.{contact_id}.{_signature(secrets, team_id, contact_id)}"


def unsubscribe_link(
    settings: Settings, secrets: Secrets, team_id: uuid.UUID, contact_id: uuid.UUID
) -> str:
    """The front end's page that confirms and posts the token to `POST /v1/unsubscribe`."""
    token = unsubscribe_token(secrets, team_id, contact_id)
    return f"{settings.front_url}/portal/unsubscribe?token={token}"


def member_unsubscribe_token(secrets: Secrets, team_id: uuid.UUID, user_id: uuid.UUID) -> str:
    signature = _signature(secrets, team_id, user_id, member=True)
    return f"{_MEMBER}.{team_id}.{user_id}.{signature}"


def member_unsubscribe_link(
    settings: Settings, secrets: Secrets, team_id: uuid.UUID, user_id: uuid.UUID
) -> str:
    """The front end's page that confirms and posts the token to `POST /v1/unsubscribe`."""
    token = member_unsubscribe_token(secrets, team_id, user_id)
    return f"{settings.front_url}/unsubscribe?token={token}"


def _invalid() -> NotFound:
    return NotFound("Unsubscribe link", code="invalid_unsubscribe_token")


def _verified(secrets: Secrets, token: str) -> tuple[bool, uuid.UUID, uuid.UUID]:
    """(a team member's token, the team, the contact or user) of a genuine token."""
    parts = token.split(".")
    member = len(parts) == 4 and parts[0] == _MEMBER
    if member:
        parts = parts[1:]
    if len(parts) != 3:
        raise _invalid()
    try:
        team_id, who = uuid.UUID(parts[0]), uuid.UUID(parts[1])
    except ValueError:
        raise _invalid() from None
    if not hmac.compare_digest(parts[2], _signature(secrets, team_id, who, member=member)):
        raise _invalid()
    return member, team_id, who


async def unsubscribe(session: AsyncSession, secrets: Secrets, token: str) -> None:
    """Turn the contact's digest and mention emails off, or the team member's emails of
    conversations; a forged or stale link is 404."""
    member, team_id, who = _verified(secrets, token)
    # The signed token named the team: the transaction is confined to it before any read.
    await enter_team(session, team_id)
    now = datetime.now(UTC)
    if member:
        found = await session.scalar(
            update(Membership)
            .where(in_team(Membership, team_id), Membership.user_id == who)
            .values(comment_emails_off_at=func.coalesce(Membership.comment_emails_off_at, now))
            .returning(Membership.user_id)
        )
        if found is None:
            raise _invalid()
        return
    found = await session.scalar(
        select(Contact.id).where(in_team(Contact, team_id), Contact.id == who)
    )
    if found is None:
        raise _invalid()
    await session.execute(
        insert(ContactDigest)
        .values(team_id=team_id, contact_id=who, after_event_id=0, unsubscribed_at=now)
        .on_conflict_do_update(
            index_elements=[ContactDigest.contact_id],
            set_={"unsubscribed_at": now},
            where=ContactDigest.unsubscribed_at.is_(None),
        )
    )
