"""Comments on a project's thread or on one of its tasks, and each contact's digest state."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.clients.models import enum_column
from app.core.db import Base, RecordModel, TeamScoped, TimestampMixin, team_fk


class CommentVisibility(StrEnum):
    client = "client"
    internal = "internal"


class AuthorType(StrEnum):
    user = "user"
    contact = "contact"


class Comment(TeamScoped, RecordModel):
    """A comment, kept as a tombstone once deleted (`deleted_at`, body emptied) so a
    thread keeps its shape. `task_id` null: the project's own thread."""

    __tablename__ = "comment"
    __table_args__ = (
        team_fk("project_id", "project", ondelete="CASCADE"),
        team_fk("task_id", "task", ondelete="CASCADE"),
        team_fk("author_contact_id", "contact", ondelete="SET NULL (author_contact_id)"),
        CheckConstraint("author_type IN ('user', 'contact')", name="author_type"),
        # Contacts only ever write for the client to read.
        CheckConstraint(
            "author_type = 'user' OR visibility = 'client'", name="contacts_write_client"
        ),
        # A thread in order (keyset by id): the project's, or a task's.
        Index("ix_comment_project_id_task_id_id", "project_id", "task_id", "id"),
        Index("ix_comment_task_id", "task_id", postgresql_where=text("task_id IS NOT NULL")),
        Index(
            "ix_comment_author_contact_id",
            "author_contact_id",
            postgresql_where=text("author_contact_id IS NOT NULL"),
        ),
    )

    project_id: Mapped[uuid.UUID]
    task_id: Mapped[uuid.UUID | None]
    visibility: Mapped[CommentVisibility] = mapped_column(
        enum_column(CommentVisibility, "comment_visibility")
    )
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    author_type: Mapped[str] = mapped_column(String(10))
    # Kept after the author leaves: the name stays readable in the thread.
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    author_contact_id: Mapped[uuid.UUID | None]
    author_name: Mapped[str] = mapped_column(String(200))
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class ContactDigest(TimestampMixin, Base):
    """Where a contact's hourly digest stands: events up to `after_event_id` are told (or
    were not for it), the last one went at `sent_at`; `unsubscribed_at` turns it off."""

    __tablename__ = "contact_digest"
    __table_args__ = (team_fk("contact_id", "contact", ondelete="CASCADE"),)

    team_id: Mapped[uuid.UUID]
    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    after_event_id: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
