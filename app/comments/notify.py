"""Who is emailed about a new comment, soon after it is posted (the `notify_comment` job).

The project's managers hear of every comment; the people it `@[mentions]` hear of it
when they can read it: a team member whose role reaches the project, a contact of the
project's client who views the project, and only for a `client` comment. The author is
never told of its own comment; a contact who unsubscribed is not emailed.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.comments.models import Comment, CommentVisibility, ContactDigest
from app.comments.rendering import mentioned
from app.comments.unsubscribe import member_unsubscribe_link, unsubscribe_link
from app.config import Settings
from app.contacts.models import Contact
from app.core.context import Caller, TeamContext
from app.core.mail import queue_email
from app.core.permissions import Permission
from app.core.security import Secrets
from app.core.tenancy import in_team, same_team
from app.projects.models import Project, ProjectMember, ProjectRole, ProjectViewer, Task
from app.projects.service import visible_projects
from app.teams.models import Membership


@dataclass(frozen=True)
class Where:
    """The thread a comment is in, as emails name it and link to it."""

    team_id: uuid.UUID
    project: Project
    task: Task | None
    comment: Comment

    @property
    def label(self) -> str:
        if self.task is None:
            return self.project.name
        return f"“{self.task.title}” ({self.project.name})"

    def path(self) -> str:
        tail = f"/tasks/{self.task.id}" if self.task else ""
        return f"/projects/{self.project.id}{tail}#comment-{self.comment.id}"


async def _managers(session: AsyncSession, where: Where) -> dict[uuid.UUID, tuple[str, str]]:
    rows = await session.execute(
        select(User.id, User.email, User.name)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .join(
            Membership,
            same_team(Membership, ProjectMember) & (Membership.user_id == User.id),
        )
        .where(
            in_team(ProjectMember, where.team_id),
            ProjectMember.project_id == where.project.id,
            ProjectMember.role == ProjectRole.manager,
            Membership.comment_emails_off_at.is_(None),
        )
    )
    return {uid: (email, name) for uid, email, name in rows}


async def _mentioned_members(
    session: AsyncSession, where: Where, names: set[str]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Team members named, who may read the project (their role's reach over it)."""
    rows = await session.execute(
        select(User.id, User.email, User.name, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(
            in_team(Membership, where.team_id),
            Membership.comment_emails_off_at.is_(None),
            or_(func.lower(User.name).in_(names), func.lower(User.email).in_(names)),
        )
    )
    read = Permission.TASKS_READ if where.task else Permission.PROJECTS_READ
    found = {}
    for uid, email, name, role in rows:
        ctx = TeamContext(Caller("user", uid), where.team_id, role)
        reach = ctx.grant(read)
        if reach is None:
            continue
        sees = await session.scalar(
            select(Project.id).where(
                in_team(Project, where.team_id),
                Project.id == where.project.id,
                visible_projects(ctx, reach),
            )
        )
        if sees is not None:
            found[uid] = (email, name)
    return found


async def readers_among_contacts(
    session: AsyncSession, team_id: uuid.UUID, project: Project
) -> list[Contact]:
    """The project's contacts who may read its client comments and be emailed: its
    viewers, of its client, with portal access and an address, not unsubscribed."""
    found = await session.scalars(
        select(Contact)
        .join(
            ProjectViewer,
            same_team(ProjectViewer, Contact) & (ProjectViewer.contact_id == Contact.id),
        )
        .outerjoin(
            ContactDigest,
            same_team(ContactDigest, Contact) & (ContactDigest.contact_id == Contact.id),
        )
        .where(
            in_team(Contact, team_id),
            ProjectViewer.project_id == project.id,
            Contact.client_id == project.client_id,
            Contact.portal_access.is_(True),
            Contact.email.isnot(None),
            ContactDigest.unsubscribed_at.is_(None),
        )
    )
    return list(found)


def _text(where: Where, intro: str, link: str) -> str:
    comment = where.comment
    return f"{intro}\n\n{comment.body}\n\nOpen the thread: {link}\n"


async def notify(
    session: AsyncSession,
    settings: Settings,
    secrets: Secrets,
    team_id: uuid.UUID,
    comment_id: uuid.UUID,
) -> int:
    """Email the managers and the mentioned readers of a comment; how many were emailed."""
    comment = await session.scalar(
        select(Comment).where(in_team(Comment, team_id), Comment.id == comment_id)
    )
    if comment is None or comment.deleted_at is not None:
        return 0
    project = await session.scalar(
        select(Project).where(in_team(Project, team_id), Project.id == comment.project_id)
    )
    assert project is not None  # the comment cascades with its project
    task = None
    if comment.task_id is not None:
        task = await session.scalar(
            select(Task).where(in_team(Task, team_id), Task.id == comment.task_id)
        )
    where = Where(team_id, project, task, comment)
    names = mentioned(comment.body)
    members = await _managers(session, where)
    named_members = await _mentioned_members(session, where, names) if names else {}
    members.update(named_members)
    members.pop(comment.author_user_id, None)  # type: ignore[arg-type]
    internal = comment.visibility is CommentVisibility.internal
    kind = "an internal comment" if internal else "a comment"
    sent = 0
    for uid, (email, _) in sorted(members.items(), key=lambda m: m[1][0]):
        verb = "mentioned you in" if uid in named_members else "left"
        queue_email(
            session,
            to=[email],
            subject=f"{comment.author_name} {verb} {kind} on {where.label}",
            text=_text(
                where,
                f"{comment.author_name} {verb} {kind} on {where.label}:",
                f"{settings.front_url}{where.path()}",
            )
            + f"\nStop these emails: {member_unsubscribe_link(settings, secrets, team_id, uid)}\n",
        )
        sent += 1
    if internal or not names:
        return sent
    for contact in await readers_among_contacts(session, team_id, project):
        if contact.id == comment.author_contact_id or not (
            contact.name.lower() in names or (contact.email or "").lower() in names
        ):
            continue
        assert contact.email is not None
        link = f"{settings.front_url}/portal{where.path()}"
        stop = unsubscribe_link(settings, secrets, team_id, contact.id)
        queue_email(
            session,
            to=[contact.email],
            subject=f"{comment.author_name} mentioned you on {where.label}",
            text=_text(where, f"{comment.author_name} mentioned you on {where.label}:", link)
            + f"\nStop these emails: {stop}\n",
        )
        sent += 1
    return sent
