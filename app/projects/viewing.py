"""What a signed-in contact may do on a project: the portal's reach, in one place.

A project is the contact's while the contact is one of its viewers and the project
belongs to the contact's client; its viewer `role` says whether it only reads
(`viewer`) or also comments and requests tasks (`collaborator`). Anything else is a
404, exactly like a missing id.
"""

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.context import PortalContext
from app.core.errors import Forbidden, NotFound
from app.core.tenancy import in_team, same_team
from app.projects.models import Project, ProjectViewer, ViewerRole


def viewed_project_ids(ctx: PortalContext) -> Select[Any]:
    """Projects of the contact's client that the contact views."""
    return (
        select(ProjectViewer.project_id)
        .join(
            Project,
            same_team(Project, ProjectViewer) & (Project.id == ProjectViewer.project_id),
        )
        .where(
            in_team(ProjectViewer, ctx),
            ProjectViewer.contact_id == ctx.contact_id,
            Project.client_id == ctx.client_id,
        )
    )


async def viewed_project(
    session: AsyncSession, ctx: PortalContext, project_id: uuid.UUID, *, collaborating: bool = False
) -> Project:
    """A project the contact views (404 otherwise); with `collaborating`, one it
    collaborates on (403 `not_a_collaborator` when it only views it)."""
    found = (
        await session.execute(
            select(Project, ProjectViewer.role)
            .join(
                ProjectViewer,
                same_team(ProjectViewer, Project) & (ProjectViewer.project_id == Project.id),
            )
            .where(
                in_team(Project, ctx),
                Project.id == project_id,
                Project.client_id == ctx.client_id,
                ProjectViewer.contact_id == ctx.contact_id,
            )
        )
    ).first()
    if found is None:
        raise NotFound("Project")
    project, role = found
    if collaborating and role is not ViewerRole.collaborator:
        raise Forbidden(
            "Only the project's collaborators may do this; viewers read.",
            code="not_a_collaborator",
        )
    return project  # type: ignore[no-any-return]
