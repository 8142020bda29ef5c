"""Portal arq jobs: emailing the login links an address asked for."""

from typing import Any

from app.config import Settings
from app.core.db import Database, unit_of_work
from app.core.security import Secrets
from app.portal import service


async def send_portal_login_links(ctx: dict[str, Any], email: str) -> int:
    """arq job: find the contacts with this address and portal access in every team (a
    cross-team read, docs/security.md) and email each its own login link, each in its
    team's transaction. Returns how many were sent; none for an unknown address."""
    db: Database = ctx["db"]
    settings: Settings = ctx["settings"]
    secrets: Secrets = ctx["secrets"]
    async with unit_of_work(db, ctx["redis"]) as session:
        found = await service.contacts_to_link(session, email)
    sent = 0
    for team_id, contact_id in found:
        async with unit_of_work(db, ctx["redis"], team_id=team_id) as session:
            if await service.email_login_link(session, secrets, settings, team_id, contact_id):
                sent += 1
    return sent
