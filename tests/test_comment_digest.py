"""The contacts' hourly digest (the `send_contact_digests` cron, run here as a function):
a contact's new client comments and task moves in one email, sent once, at most hourly,
never an internal comment, and turned off by the signed link it carries."""

import re
from datetime import UTC, datetime, timedelta

from app.comments.jobs import send_contact_digests
from app.comments.unsubscribe import unsubscribe_token
from tests.factories.comments import comment, conversation
from tests.factories.events import settle
from tests.factories.portal import mail_body
from tests.factories.projects import get_board, move_task
from tests.helpers import assert_problem

TOKEN = re.compile(r"/portal/unsubscribe\?token=(\S+)")


def _job_ctx(app, settings) -> dict:
    return {
        "db": app.state.db,
        "redis": app.state.redis,
        "settings": settings,
        "secrets": app.state.secrets,
    }


def _digests(mailbox) -> dict[str, str]:
    found = {}
    for message in mailbox.messages:
        if str(message["Subject"]).startswith("What's new on your projects"):
            assert str(message["To"]) not in found, "two digests to one contact"
            found[str(message["To"])] = mail_body(message)
    return found


async def test_a_digest_groups_a_contacts_news_and_is_sent_once(
    client, app, settings, mailbox, run_jobs
):
    talk = await conversation(client, app, mailbox, run_jobs)
    owner = talk.owner
    await comment(client, owner, talk.on_a, "Kick-off on Monday", visibility="client")
    await comment(client, owner, talk.on_task, "internal: they pay late")
    await comment(client, talk.carl, talk.on_task, "Which fonts?")
    board = await get_board(client, owner, talk.a)
    done = next(c for c in board["columns"] if c["kind"] == "done")
    assert (await move_task(client, owner, talk.a, talk.task, done["id"], 0)).status_code == 200
    r = await client.patch(
        owner.url(f"/projects/{talk.a}/tasks/{talk.task}"),
        json={"title": "Build the site"},
        headers=owner.headers,
    )
    assert r.status_code == 200  # renamed, not moved: nothing to tell
    await comment(client, talk.bea, f"/projects/{talk.b}", "About the shop")
    await comment(client, owner, f"/projects/{talk.b}", "Shop news", visibility="client")
    await run_jobs()
    mailbox.messages.clear()
    await settle(client)

    ctx = _job_ctx(app, settings)
    now = datetime.now(UTC)
    assert await send_contact_digests(ctx, now=now) == 3
    await run_jobs()
    digests = _digests(mailbox)
    assert set(digests) == {"carl@example.com", "vera@example.com", "bea@example.com"}
    vera = digests["vera@example.com"]
    assert "Website" in vera and "Shop" not in vera
    assert "Olga Owner commented: Kick-off on Monday" in vera
    assert "Carl commented: Which fonts?" in vera
    assert "“Build the site” moved to Done" in vera
    assert "internal" not in vera and "pay late" not in vera
    assert f"/portal/projects/{talk.a}" in vera
    carl = digests["carl@example.com"]
    assert "Kick-off on Monday" in carl and "Which fonts?" not in carl  # not its own
    bea = digests["bea@example.com"]
    assert "Shop news" in bea and "Website" not in bea and "About the shop" not in bea
    assert "moved" not in bea

    # Sent once: a second run has nothing new; news within the hour waits for it.
    mailbox.messages.clear()
    assert await send_contact_digests(ctx, now=now + timedelta(minutes=15)) == 0
    await comment(client, owner, talk.on_a, "Slides attached", visibility="client")
    await settle(client)
    assert await send_contact_digests(ctx, now=now + timedelta(minutes=30)) == 0
    assert await send_contact_digests(ctx, now=now + timedelta(minutes=61)) == 2
    await run_jobs()
    digests = _digests(mailbox)
    assert set(digests) == {"carl@example.com", "vera@example.com"}
    assert "Slides attached" in digests["vera@example.com"]
    assert "Kick-off" not in digests["vera@example.com"]


async def test_the_unsubscribe_link_turns_the_digest_off(client, app, settings, mailbox, run_jobs):
    talk = await conversation(client, app, mailbox, run_jobs)
    await comment(client, talk.owner, talk.on_a, "First news", visibility="client")
    await run_jobs()
    mailbox.messages.clear()
    await settle(client)
    ctx = _job_ctx(app, settings)
    now = datetime.now(UTC)
    assert await send_contact_digests(ctx, now=now) == 2
    await run_jobs()
    [token] = TOKEN.findall(_digests(mailbox)["vera@example.com"])
    assert token == unsubscribe_token(app.state.secrets, talk.owner.team_id, talk.vera.contact_id)

    # Forged or altered tokens do nothing.
    carl_token = unsubscribe_token(app.state.secrets, talk.owner.team_id, talk.carl.contact_id)
    forged = token.rsplit(".", 1)[0] + "." + carl_token.rsplit(".", 1)[1]
    for bad in (forged, "x", token + "0", f"{talk.owner.team_id}.{talk.vera.contact_id}.ab"):
        assert_problem(await client.post("/v1/unsubscribe", json={"token": bad}), 404)
    r = await client.post("/v1/unsubscribe", json={"token": token})
    assert r.status_code == 204, r.text
    r = await client.post("/v1/unsubscribe", json={"token": token})
    assert r.status_code == 204, r.text  # again: still off

    mailbox.messages.clear()
    await comment(client, talk.owner, talk.on_a, "@[Vera] second news", visibility="client")
    await run_jobs()
    await settle(client)
    assert await send_contact_digests(ctx, now=now + timedelta(hours=2)) == 1
    await run_jobs()
    # Carl gets his digest; Vera neither a digest nor the mention's email.
    assert set(_digests(mailbox)) == {"carl@example.com"}
    assert not [m for m in mailbox.messages if "vera@" in str(m["To"])]
