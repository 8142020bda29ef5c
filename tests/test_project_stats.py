"""A project's stats show money only to roles that may read the project's rates, as its
own `hourly_rate_amount` and the time-entry lists do; time and task counts to all who
may read the project."""

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.projects import add_member
from tests.factories.rates import add_rate
from tests.factories.time_tracking import add_entry
from tests.helpers import at

MONEY = ("billable_amount", "uninvoiced_amount", "rate_missing_seconds")


async def stats_of(http, actor, project_id: str) -> dict:
    r = await http.get(actor.url(f"/projects/{project_id}/stats"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_stats_hide_amounts_from_roles_that_may_not_read_the_projects_rates(client, app):
    owner = await make_actor(app)
    team = owner.team_id
    rep = await make_actor(app, team_id=team, role=Role.sales_rep)
    member = await make_actor(app, team_id=team, role=Role.member)
    pm = await make_actor(app, team_id=team, role=Role.project_manager)
    sales_manager = await make_actor(app, team_id=team, role=Role.sales_manager)
    _, project_id = await new_client_project(client, owner, "Acme", owner_id=str(rep.user_id))
    await add_member(client, owner, project_id, member.user_id)
    await add_member(client, owner, project_id, pm.user_id, role="manager")
    await add_rate(client, owner, 12000)
    await add_entry(client, owner, project_id, at(2, 9), 3600)
    await add_entry(client, member, project_id, at(3, 9), 1800)

    for who in (owner, sales_manager, pm):
        stats = await stats_of(client, who, project_id)
        assert (stats["billable_amount"], stats["uninvoiced_amount"]) == (18000, 18000), who.role
        assert stats["rate_missing_seconds"] == 0

    # A sales rep reads no rates; a member only its own, while these sum everyone's time.
    for who in (rep, member):
        stats = await stats_of(client, who, project_id)
        assert {name: stats[name] for name in MONEY} == dict.fromkeys(MONEY), who.role
        assert (stats["tracked_seconds"], stats["billable_seconds"]) == (5400, 5400)
        assert stats["uninvoiced_seconds"] == 5400
        assert stats["task_count"] == 0
