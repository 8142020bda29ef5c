"""Actors: a logged-in user with a team (or a role in one), created through the services."""

import itertools
import uuid
from dataclasses import dataclass

from fastapi import FastAPI

from app.accounts import service as accounts_service
from app.core.db import unit_of_work
from app.core.permissions import Role
from app.teams import service as teams_service
from app.teams.models import Membership

_seq = itertools.count(1)


@dataclass
class Actor:
    user_id: uuid.UUID
    team_id: uuid.UUID
    email: str
    password: str
    access_token: str
    refresh_token: str
    role: Role

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def url(self, path: str = "") -> str:
        return f"/v1/teams/{self.team_id}{path}"


async def make_actor(
    app: FastAPI,
    *,
    team_id: uuid.UUID | None = None,
    role: Role = Role.superadmin,
    email: str | None = None,
    name: str | None = None,
) -> Actor:
    """A logged-in user: owner of a new team, or `role` in `team_id`."""
    n = next(_seq)
    email = email or f"user{n}-{uuid.uuid4().hex[:6]}@example.com"
    password = "correct horse battery"
    async with unit_of_work(app.state.db, app.state.redis) as session:
        user = await accounts_service.create_user(
            session, app.state.secrets, email=email, name=name or f"User {n}", password=password
        )
        if team_id is None:
            team = await teams_service.create_team(
                session, owner_id=user.id, name=f"Team {n}", base_currency="EUR", timezone="UTC"
            )
            team_id, role = team.id, Role.superadmin
        else:
            session.add(Membership(team_id=team_id, user_id=user.id, role=role))
        tokens = await accounts_service.start_session(
            session, app.state.secrets, app.state.settings, user.id
        )
    return Actor(
        user_id=user.id,
        team_id=team_id,
        email=email,
        password=password,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        role=role,
    )
