import uuid
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.clients.models import enum_column
from app.core.db import Base, RecordModel, TeamScoped, TimestampMixin, team_fk, user_link_args


class ProjectStatus(StrEnum):
    active = "active"
    archived = "archived"


class ProjectRole(StrEnum):
    manager = "manager"
    member = "member"


class ViewerRole(StrEnum):
    """What a client contact may do on a project it views in the portal."""

    viewer = "viewer"
    collaborator = "collaborator"


class ColumnKind(StrEnum):
    todo = "todo"
    in_progress = "in_progress"
    done = "done"
    custom = "custom"


class Project(TeamScoped, RecordModel):
    __tablename__ = "project"
    __table_args__ = (
        UniqueConstraint("team_id", "id"),
        team_fk("client_id", "client"),
        CheckConstraint("hourly_rate_amount >= 0", name="rate_not_negative"),
        CheckConstraint("budget_seconds >= 0", name="budget_not_negative"),
        Index("ix_project_team_id_client_id", "team_id", "client_id"),
    )

    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[uuid.UUID | None]
    status: Mapped[ProjectStatus] = mapped_column(
        enum_column(ProjectStatus, "project_status"), server_default="active"
    )
    billable: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    hourly_rate_amount: Mapped[int | None] = mapped_column(BigInteger)
    budget_seconds: Mapped[int | None] = mapped_column(BigInteger)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class Board(TeamScoped, RecordModel):
    __tablename__ = "board"
    __table_args__ = (
        UniqueConstraint("team_id", "id"),
        UniqueConstraint("project_id"),
        team_fk("project_id", "project", ondelete="CASCADE"),
    )

    project_id: Mapped[uuid.UUID]


class BoardColumn(TeamScoped, RecordModel):
    __tablename__ = "board_column"
    __table_args__ = (
        UniqueConstraint("team_id", "id"),
        team_fk("board_id", "board", ondelete="CASCADE"),
        # Checked at commit, so a re-numbering may pass through duplicates.
        UniqueConstraint("board_id", "position", deferrable=True, initially="DEFERRED"),
        Index(
            "uq_board_column_one_todo_one_done",
            "board_id",
            "kind",
            unique=True,
            postgresql_where=text("kind IN ('todo', 'done')"),
        ),
        CheckConstraint("position >= 0", name="position"),
    )

    board_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[ColumnKind] = mapped_column(enum_column(ColumnKind, "column_kind"))
    position: Mapped[int] = mapped_column(Integer)


class Task(TeamScoped, RecordModel):
    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("team_id", "id"),
        team_fk("project_id", "project", ondelete="CASCADE"),
        team_fk("column_id", "board_column"),
        team_fk(
            "assignee_id",
            "team_membership",
            target_column="user_id",
            ondelete="SET NULL (assignee_id)",
        ),
        UniqueConstraint("column_id", "position", deferrable=True, initially="DEFERRED"),
        CheckConstraint("position >= 0", name="position"),
        CheckConstraint("estimate_seconds >= 0", name="estimate_not_negative"),
        team_fk(
            "requested_by_contact_id",
            "contact",
            ondelete="SET NULL (requested_by_contact_id)",
        ),
        # A project's tasks in the list's order (keyset by id); also the foreign key's.
        Index("ix_task_project_id_id", "project_id", "id"),
        # The foreign key's SET NULL when a contact goes.
        Index(
            "ix_task_requested_by_contact_id",
            "requested_by_contact_id",
            postgresql_where=text("requested_by_contact_id IS NOT NULL"),
        ),
    )

    project_id: Mapped[uuid.UUID]
    column_id: Mapped[uuid.UUID]
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    assignee_id: Mapped[uuid.UUID | None]
    estimate_seconds: Mapped[int | None] = mapped_column(BigInteger)
    # A collaborator contact's request from the portal; the team triages it like any task.
    requested_by_contact_id: Mapped[uuid.UUID | None]


class ProjectMember(TimestampMixin, Base):
    __tablename__ = "project_member"
    __table_args__ = user_link_args("project_member", parent="project")

    team_id: Mapped[uuid.UUID]
    project_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    role: Mapped[ProjectRole] = mapped_column(enum_column(ProjectRole, "project_role"))


class ProjectViewer(TimestampMixin, Base):
    """A client contact who sees the project in the portal: read-only (`viewer`), or also
    commenting and requesting tasks (`collaborator`)."""

    __tablename__ = "project_viewer"
    __table_args__ = (
        team_fk("project_id", "project", ondelete="CASCADE"),
        team_fk("contact_id", "contact", ondelete="CASCADE"),
        Index("ix_project_viewer_contact_id", "contact_id"),
    )

    team_id: Mapped[uuid.UUID]
    project_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    role: Mapped[ViewerRole] = mapped_column(
        enum_column(ViewerRole, "viewer_role"), server_default="viewer"
    )
