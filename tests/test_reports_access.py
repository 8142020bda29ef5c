"""Every report climbs the ladder: 401 without credentials, 403 for roles the role table
refuses, 404 for another team's path or client, 200 for the owner."""

import pytest

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.ladder import ladder

PERIOD = "from=2026-03-01&to=2026-03-31"


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        (f"/reports/time?group_by=client&{PERIOD}", ()),
        ("/reports/uninvoiced", ()),
        (f"/reports/revenue?group_by=month&{PERIOD}", (Role.project_manager, Role.member)),
        ("/reports/outstanding", (Role.project_manager, Role.member)),
    ],
)
async def test_report_ladder(client, app, path, refused):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    forbidden = [await make_actor(app, team_id=owner.team_id, role=role) for role in refused]
    r = await ladder(client, "GET", path, owner=owner, stranger=stranger, forbidden=forbidden)
    assert r.json()["currency"] == "EUR"


async def test_client_report_ladder(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine, _ = await new_client_project(client, owner, "Mine")
    theirs, _ = await new_client_project(client, stranger, "Theirs")
    r = await ladder(
        client,
        "GET",
        f"/reports/clients/{mine}?{PERIOD}",
        owner=owner,
        stranger=stranger,
        foreign_paths=[f"/reports/clients/{theirs}?{PERIOD}"],
    )
    assert r.json()["client_id"] == mine
    assert (r.json()["seconds"], r.json()["revenue_amount"], r.json()["margin_bps"]) == (0, 0, None)
