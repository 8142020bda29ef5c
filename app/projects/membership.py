"""Who is on which project: the subquery every "the caller's projects" reach shares.

Kept apart from the projects service, which prices through rates and time tracking: the
clients, rates and time visibility rules use it without importing what sits above them.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.sql.selectable import ScalarSelect

from app.core.context import TeamContext
from app.projects.models import ProjectMember, ProjectRole


def member_project_ids(ctx: TeamContext, *, managing: bool = False) -> ScalarSelect[uuid.UUID]:
    """Ids of the projects the caller is a member of (`managing`: a manager of)."""
    stmt = select(ProjectMember.project_id).where(ProjectMember.user_id == ctx.user_id)
    if managing:
        stmt = stmt.where(ProjectMember.role == ProjectRole.manager)
    return stmt.scalar_subquery()
