"""Collaborator contacts' task requests: asked for in the portal, triaged by the team.

A collaborator adds a task to the end of its project's first column (marked with
`requested_by_contact_id`), and may retitle or withdraw the tasks it requested, nothing
else: moving stays the team's, and no other task is its to change.
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.context import PortalContext
from app.portal.schemas import PortalTask, PortalTaskRequestIn, PortalTaskRequestPatch
from app.portal.views import task_outs
from app.projects import board
from app.projects.viewing import viewed_project


async def request_task(
    session: AsyncSession, ctx: PortalContext, project_id: uuid.UUID, data: PortalTaskRequestIn
) -> PortalTask:
    """A collaborator's request, at the end of the first column."""
    project = await viewed_project(session, ctx, project_id, collaborating=True)
    task = await board.create_request(
        session, project, ctx.contact_id, data.title, data.description
    )
    return (await task_outs(session, ctx, [task]))[0]


async def edit_request(
    session: AsyncSession,
    ctx: PortalContext,
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    patch: PortalTaskRequestPatch,
) -> PortalTask:
    """Its requester retitles a request."""
    project = await viewed_project(session, ctx, project_id, collaborating=True)
    task = await board.edit_request(session, project, task_id, ctx.contact_id, patch.title)
    return (await task_outs(session, ctx, [task]))[0]


async def withdraw_request(
    session: AsyncSession, ctx: PortalContext, project_id: uuid.UUID, task_id: uuid.UUID
) -> None:
    """Its requester withdraws a request."""
    project = await viewed_project(session, ctx, project_id, collaborating=True)
    await board.withdraw_request(session, project, task_id, ctx.contact_id)
