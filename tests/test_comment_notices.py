"""What comes out of a comment: sanitized HTML whatever the author wrote, and the emails
to the people it mentions and to the project's managers."""

import re
from html.parser import HTMLParser

import pytest

from app.comments.rendering import render
from app.comments.unsubscribe import member_unsubscribe_token
from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.comments import comment, conversation
from tests.factories.portal import mail_body
from tests.factories.projects import add_member
from tests.helpers import assert_problem

ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "<a href='javascript:alert(1)'>click</a>",
    "<img src=x onerror=alert(1)>",
    '<div onmouseover="alert(1)">hover</div>',
    "![x](javascript:alert(1))",
    '![x" onerror="alert(1)](https://example.com/a.png)',
    "![pixel](https://tracker.example/p.gif)",
    '![x](https://example.com/a.png "a\\" onerror=\\"alert(1)")',
    "[![x](https://example.com/a.png)](javascript:alert(1))",
    "<iframe src=https://evil.example></iframe>",
    "<svg/onload=alert(1)>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<style>body{display:none}</style>",
    "`<script>` and\n\n    <script>alert(1)</script>",
]

ALLOWED_SCHEMES = ("http://", "https://", "mailto:")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append((tag, attrs))


def tags_of(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def assert_inert(html: str) -> None:
    """No active tag, no event handler attribute, no link but http(s) or mailto."""
    for tag, attrs in tags_of(html):
        assert tag not in {"script", "img", "iframe", "svg", "style", "object", "embed"}, html
        for name, value in attrs:
            assert not name.startswith("on"), html
            assert name in {"href", "title", "rel", "start", "style"}, html
            if name == "href":
                assert (value or "").startswith(ALLOWED_SCHEMES), html


@pytest.mark.parametrize("body", ATTACKS)
def test_the_renderer_makes_every_trick_inert(body):
    assert_inert(render(body))


def test_the_walk_bites():
    with pytest.raises(AssertionError):
        assert_inert('<p><img src="x" onerror="alert(1)"></p>')
    with pytest.raises(AssertionError):
        assert_inert('<a href="javascript:alert(1)">x</a>')


def test_markdown_still_renders():
    assert render("**b** _i_ ~~s~~ `c`") == (
        "<p><strong>b</strong> <em>i</em> <s>s</s> <code>c</code></p>\n"
    )
    html = render("[site](https://example.com) and <https://example.org>")
    assert '<a href="https://example.com" rel="nofollow noopener noreferrer">site</a>' in html
    assert render("- one\n- two") == "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
    # An image is a link to it: nothing is fetched by the reader's browser.
    assert render("![logo](https://example.com/l.png)") == (
        '<p>!<a href="https://example.com/l.png" rel="nofollow noopener noreferrer">logo</a></p>\n'
    )


async def test_bodies_are_kept_as_written_and_shown_inert_to_every_reader(
    client, app, mailbox, run_jobs
):
    talk = await conversation(client, app, mailbox, run_jobs)
    for body in ATTACKS[:12]:
        said = await comment(client, talk.carl, talk.on_a, body)
        assert said["body"] == body.strip()
        assert_inert(said["body_html"])
    r = await client.get(talk.owner.url(f"{talk.on_a}/comments"), headers=talk.owner.headers)
    for shown in r.json()["data"]:
        assert_inert(shown["body_html"])
    r = await client.get(talk.vera.url(f"{talk.on_a}/comments"), headers=talk.vera.headers)
    assert len(r.json()["data"]) == 12
    for shown in r.json()["data"]:
        assert_inert(shown["body_html"])


def _mails(mailbox) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in mailbox.messages:
        found.setdefault(str(message["To"]), []).append(
            f"{message['Subject']}\n{mail_body(message)}"
        )
    return found


async def test_mentions_and_managers_are_emailed_if_they_can_read_it(
    client, app, mailbox, run_jobs
):
    talk = await conversation(client, app, mailbox, run_jobs)
    owner = talk.owner  # manages A (it created it)
    pete = await make_actor(app, team_id=owner.team_id, role=Role.member, name="Pete Member")
    await add_member(client, owner, talk.a, pete.user_id)
    await make_actor(app, team_id=owner.team_id, role=Role.member, name="Mia Outsider")

    await comment(
        client,
        pete,
        talk.on_task,
        "@[Carl] @[vera@example.com] @[Bea] @[Mia Outsider] @[Olga Owner] see the draft",
        visibility="client",
    )
    await run_jobs()
    mails = _mails(mailbox)
    # Carl and Vera view A; Bea does not, and Mia's role does not reach A.
    assert set(mails) == {owner.email, "carl@example.com", "vera@example.com"}
    [to_owner] = mails[owner.email]
    assert to_owner.startswith("Pete Member mentioned you in a comment on “Build” (Website)")
    assert f"/projects/{talk.a}/tasks/{talk.task}#comment-" in to_owner
    [to_carl] = mails["carl@example.com"]
    assert "see the draft" in to_carl
    assert f"/portal/projects/{talk.a}/tasks/{talk.task}#comment-" in to_carl
    assert "Stop these emails: " in to_carl and "/portal/unsubscribe?token=" in to_carl

    # An internal comment: the manager hears of it, mentioned contacts never.
    mailbox.messages.clear()
    await comment(client, pete, talk.on_a, "@[Carl] is slow to pay", visibility="internal")
    await run_jobs()
    mails = _mails(mailbox)
    assert set(mails) == {owner.email}
    assert mails[owner.email][0].startswith("Pete Member left an internal comment on Website")

    # A contact's question: the managers hear of it; the author is never told.
    mailbox.messages.clear()
    await comment(client, talk.carl, talk.on_a, "Any news, @[Pete Member]?")
    await run_jobs()
    mails = _mails(mailbox)
    assert set(mails) == {owner.email, pete.email}
    assert mails[pete.email][0].startswith("Carl mentioned you in a comment on Website")
    mailbox.messages.clear()
    await comment(client, owner, talk.on_a, "Thanks @[Olga Owner]", visibility="client")
    await run_jobs()
    assert _mails(mailbox) == {}


async def test_a_team_members_unsubscribe_link_turns_its_emails_off(client, app, mailbox, run_jobs):
    talk = await conversation(client, app, mailbox, run_jobs)
    owner = talk.owner  # manages A
    pete = await make_actor(app, team_id=owner.team_id, role=Role.member, name="Pete Member")
    await add_member(client, owner, talk.a, pete.user_id)
    await comment(client, talk.carl, talk.on_a, "Hello @[Pete Member]")
    await run_jobs()
    mails = _mails(mailbox)
    [to_owner] = mails[owner.email]
    link = re.search(r"Stop these emails: (\S+)", to_owner)
    assert link and link.group(1).startswith(f"{app.state.settings.front_url}/unsubscribe?token=")
    token = link.group(1).split("token=", 1)[1]
    assert token == member_unsubscribe_token(app.state.secrets, owner.team_id, owner.user_id)
    assert "/unsubscribe?token=u." in mails[pete.email][0]

    # Forged: another member's id under the owner's signature, or a contact-kind token.
    forged = token.replace(str(owner.user_id), str(pete.user_id))
    for bad in (forged, token.removeprefix("u."), "u." + token):
        assert_problem(await client.post("/v1/unsubscribe", json={"token": bad}), 404)
    for _ in range(2):  # a link keeps working
        r = await client.post("/v1/unsubscribe", json={"token": token})
        assert r.status_code == 204, r.text

    mailbox.messages.clear()
    await comment(client, talk.carl, talk.on_a, "Still there, @[Olga Owner] and @[Pete Member]?")
    await run_jobs()
    assert set(_mails(mailbox)) == {pete.email}  # neither as manager nor as mentioned
