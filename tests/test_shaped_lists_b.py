"""The project, task, contact, comment and time lists build their statement once per
shape (`app.core.statements`): every shape holds no request value, and the next caller
of a shape (another team, another user, another parent) is answered with its own."""

import itertools

from app.comments.service import _comment_list
from app.contacts.service import _activity_list, _contact_list
from app.core.permissions import Access, Role
from app.projects.board import _task_list
from app.projects.models import ProjectMember, ProjectStatus, ProjectViewer
from app.projects.service import _link_list, _project_list
from app.time_tracking.service import _entry_list, _move_list
from tests.factories import make_actor
from tests.factories.comments import comment, conversation, thread_of
from tests.factories.projects import add_member, get_board, new_task, project_team
from tests.factories.time_tracking import log
from tests.helpers import at, list_ids

FLAGS = (False, True)
TRISTATE = (None, True, False)


def test_every_shape_is_built_once_and_holds_no_request_value():
    """`shaped` raises on a captured id, date or text while building; a shape asked
    again is the statement kept."""
    for link in (ProjectMember, ProjectViewer):
        assert _link_list(link) is _link_list(link)
    assert _activity_list() is _activity_list()
    assert _move_list() is _move_list()
    for flags in itertools.product(FLAGS, repeat=2):
        assert _task_list(*flags) is _task_list(*flags)
        assert _comment_list(*flags) is _comment_list(*flags)
    for reach in Access:
        for status, client, search in itertools.product(ProjectStatus, FLAGS, FLAGS):
            assert _project_list(reach, status, client, search) is not None
        for flags in itertools.product(FLAGS, repeat=3):
            assert _contact_list(reach, *flags) is _contact_list(reach, *flags)
        shapes = itertools.product(FLAGS, FLAGS, FLAGS, FLAGS, FLAGS, TRISTATE, TRISTATE)
        for user, project, client, since, before, billable, invoiced in shapes:
            _entry_list(
                reach,
                user=user,
                project=project,
                client=client,
                started_from=since,
                started_before=before,
                billable=billable,
                invoiced=invoiced,
            )


async def test_tasks_of_one_shape_answer_each_project(client, app):
    """Two teams list their tasks by column: one statement, each its own project's."""
    found = []
    for _ in range(2):
        s = await project_team(client, app)
        column = (await get_board(client, s.owner, s.project_id))["columns"][0]["id"]
        task = await new_task(client, s.owner, s.project_id, "Mine")
        path = f"/projects/{s.project_id}/tasks"
        assert await list_ids(client, s.owner, path, column_id=column) == [task["id"]]
        found.append(task["id"])
    assert found[0] != found[1]


async def test_time_filters_bind_apart_from_the_caller(client, app):
    """The `user_id` filter is not the caller's `user_id` (the visibility's): each
    caller filtering on itself or on someone else sees what its reach covers."""
    s = await project_team(client, app)
    pm = await make_actor(app, team_id=s.owner.team_id, role=Role.project_manager)
    await add_member(client, s.owner, s.project_id, pm.user_id)
    elsewhere = await make_actor(app, team_id=s.owner.team_id, role=Role.project_manager)
    mine = await log(client, s.member, s.project_id, at(3, 9), at(3, 10))
    theirs = await log(client, s.owner, s.project_id, at(3, 11), at(3, 12))

    async def entries(actor, user) -> list[str]:  # type: ignore[no-untyped-def]
        return await list_ids(client, actor, "/time-entries", user_id=str(user.user_id))

    assert await entries(s.member, s.member) == [mine["id"]]
    assert await entries(s.member, s.owner) == []  # its own time only
    assert await entries(pm, s.member) == [mine["id"]]  # its project's time
    assert await entries(pm, s.owner) == [theirs["id"]]
    assert await entries(pm, pm) == []
    assert await entries(elsewhere, s.owner) == []
    assert await entries(s.owner, s.member) == [mine["id"]]


async def test_comment_threads_of_one_shape_answer_each_thread(client, app, mailbox, run_jobs):
    """Project threads, task threads and the portal's client-only threads: each read
    binds its own project, task and team."""
    c = await conversation(client, app, mailbox, run_jobs)
    on_b = f"/projects/{c.b}"
    a = await comment(client, c.owner, c.on_a, "On A", visibility="client")
    hidden = await comment(client, c.owner, c.on_a, "Internal")
    b = await comment(client, c.owner, on_b, "On B", visibility="client")
    t = await comment(client, c.owner, c.on_task, "On the task", visibility="client")
    assert [x["id"] for x in await thread_of(client, c.owner, c.on_a)] == [a["id"], hidden["id"]]
    assert [x["id"] for x in await thread_of(client, c.owner, on_b)] == [b["id"]]
    assert [x["id"] for x in await thread_of(client, c.owner, c.on_task)] == [t["id"]]
    assert [x["id"] for x in await thread_of(client, c.carl, c.on_a)] == [a["id"]]
    assert [x["id"] for x in await thread_of(client, c.bea, on_b)] == [b["id"]]
    assert [x["id"] for x in await thread_of(client, c.carl, c.on_task)] == [t["id"]]
