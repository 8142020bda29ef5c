"""Lists kept once per shape (teams, webhooks, invoices, runs, exchange rates, rates,
payments): every shape holds no request value, and a kept statement answers each caller
with its own values, where a filter and the caller's visibility both bind a user or a
client."""

import itertools
import uuid

from app.core.permissions import Access, Role
from app.core.statements import check_shaped
from app.invoices.exchange_rates import _exchange_rate_list
from app.invoices.models import InvoiceStatus
from app.invoices.runs import _run_list
from app.invoices.service import _entry_id_counts, _invoice_list
from app.payments.models import PaymentMethodUsed
from app.payments.service import _invoice_payment_list, _payment_list
from app.rates.models import RateKind, RateScope
from app.rates.service import _rate_list, _resolution, _targets_statement
from app.teams.service import _api_key_list, _invitation_list, _member_list
from app.webhooks.service import _delivery_list, _endpoint_list
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.payments import open_invoice, pay, payable_client
from tests.factories.projects import add_member, project_team
from tests.factories.rates import add_rate
from tests.helpers import list_ids

FLAGS = (False, True)


def test_every_shape_holds_no_request_value() -> None:
    """Each builder, for every shape it can be asked for, keeps only bind parameters and
    constants of the shape (`shaped` checks as it builds; this asks for them all)."""
    shapes = [
        f()
        for f in (
            _member_list,
            _invitation_list,
            _api_key_list,
            _endpoint_list,
            _delivery_list,
            _exchange_rate_list,
            _invoice_payment_list,
            _entry_id_counts,
            _resolution,
            _targets_statement,
        )
    ]
    for reach in Access:
        shapes.append(_run_list(reach))
        shapes += [
            _invoice_list(reach, status, client)
            for status, client in itertools.product([None, *InvoiceStatus], FLAGS)
        ]
        shapes += [
            _rate_list(reach, kind, scope, *ids)
            for kind, scope, ids in itertools.product(
                [None, *RateKind], [None, *RateScope], itertools.product(FLAGS, FLAGS, FLAGS)
            )
        ]
        shapes += [
            _payment_list(reach, client, method, since, before)
            for client, method, since, before in itertools.product(
                FLAGS, [None, *PaymentMethodUsed], FLAGS, FLAGS
            )
        ]
    for stmt in shapes:
        assert check_shaped(stmt) is stmt


async def test_a_rates_user_filter_is_not_the_callers_own_id(client, app):
    """OWN reach binds the caller's id, the `user_id` filter another value: a member who
    asks for a colleague's rates sees none, and sees their own when asking for them."""
    s = await project_team(client, app)
    colleague = await make_actor(app, team_id=s.owner.team_id, role=Role.member)
    await add_member(client, s.owner, s.project_id, colleague.user_id)
    mine = await add_rate(client, s.owner, scope="member", user_id=s.member.user_id)
    theirs = await add_rate(client, s.owner, scope="member", user_id=colleague.user_id)
    mine_here = await add_rate(
        client, s.owner, scope="project_member", project_id=s.project_id, user_id=s.member.user_id
    )

    member = s.member
    assert set(await list_ids(client, member, "/rates")) == {mine["id"], mine_here["id"]}
    assert await list_ids(client, member, "/rates", user_id=str(colleague.user_id)) == []
    assert set(await list_ids(client, member, "/rates", user_id=str(member.user_id))) == {
        mine["id"],
        mine_here["id"],
    }
    assert await list_ids(
        client, member, "/rates", user_id=str(member.user_id), project_id=s.project_id
    ) == [mine_here["id"]]
    # The same shapes, asked by the colleague and by the owner (every rate).
    assert await list_ids(client, colleague, "/rates", user_id=str(colleague.user_id)) == [
        theirs["id"]
    ]
    assert await list_ids(client, colleague, "/rates", user_id=str(member.user_id)) == []
    assert await list_ids(client, s.owner, "/rates", user_id=str(colleague.user_id)) == [
        theirs["id"]
    ]


async def test_payments_of_a_reps_clients_with_every_filter_bound(client, app):
    """A sales rep's payments (OWN_CLIENTS) filtered by client, method and both dates,
    then the owner's and another team's through the same kept statements."""
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    mine = await payable_client(client, owner, name="Rep's", owner_id=str(rep.user_id))
    theirs = await payable_client(client, owner, name="Someone else's")
    paid = {}
    for name, client_id in (("mine", mine), ("theirs", theirs)):
        invoice = await open_invoice(client, owner, client_id=client_id)
        r = await pay(client, owner, invoice["id"], 1000, "cash", paid_at="2026-03-05T12:00:00Z")
        assert r.status_code == 201, r.text
        paid[name] = r.json()["id"]
    window = {"from": "2026-03-01", "to": "2026-03-31", "method": "cash"}

    assert await list_ids(client, rep, "/payments") == [paid["mine"]]
    assert await list_ids(client, rep, "/payments", client_id=mine, **window) == [paid["mine"]]
    assert await list_ids(client, rep, "/payments", client_id=theirs, **window) == []
    assert await list_ids(client, owner, "/payments", client_id=theirs, **window) == [
        paid["theirs"]
    ]
    assert await list_ids(client, rep, "/payments", client_id=mine, method="bank") == []
    assert await list_ids(client, rep, "/payments", client_id=mine, to="2026-03-04") == []

    # Another team's rep: the same shape, its own (empty) team.
    other = await make_actor(app)
    other_rep = await make_actor(app, team_id=other.team_id, role=Role.sales_rep)
    assert await list_ids(client, other_rep, "/payments", client_id=mine, **window) == []
    assert await list_ids(client, other, "/payments", client_id=str(uuid.uuid4())) == []


async def test_invoices_of_a_reps_clients_by_status_and_client(client, app):
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    mine, _ = await new_client_project(client, owner, "Rep's", owner_id=str(rep.user_id))
    theirs, _ = await new_client_project(client, owner, "Someone else's")
    invoices = {
        name: await open_invoice(client, owner, client_id=client_id)
        for name, client_id in (("mine", mine), ("theirs", theirs))
    }

    def ids(*names: str) -> list[str]:
        return [invoices[n]["id"] for n in names]

    assert await list_ids(client, rep, "/invoices", status="open", client_id=mine) == ids("mine")
    assert await list_ids(client, rep, "/invoices", status="open", client_id=theirs) == []
    assert await list_ids(client, rep, "/invoices", status="draft", client_id=mine) == []
    assert await list_ids(client, owner, "/invoices", status="open", client_id=theirs) == ids(
        "theirs"
    )
    assert await list_ids(client, owner, "/invoices", status="open") == ids("theirs", "mine")
