import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import INET, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, RecordModel, TeamScoped, team_fk

# What the reports read of an entry besides its keys (covering indexes below).
REPORT_COLUMNS = ("user_id", "project_id", "task_id", "ended_at", "duration_seconds")


class TimeEntry(TeamScoped, RecordModel):
    """Time a user spent on a project; running while `ended_at` is null.

    The database guarantees a user's entries never overlap (touching is fine: the rule
    lives on `TimeEntrySpan`) and that a user has at most one running entry per team.
    """

    __tablename__ = "time_entry"
    __table_args__ = (
        UniqueConstraint("team_id", "id"),
        team_fk("project_id", "project"),
        team_fk("task_id", "task", ondelete="SET NULL (task_id)"),
        team_fk("invoice_id", "invoice"),
        CheckConstraint("ended_at IS NULL OR ended_at > started_at", name="ends_after_start"),
        Index(
            "uq_time_entry_one_running",
            "team_id",
            "user_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_time_entry_team_id_user_id_started_at", "team_id", "user_id", "started_at"),
        Index("ix_time_entry_team_id_project_id_started_at", "team_id", "project_id", "started_at"),
        # An invoice's entries (releasing them, the foreign key's check when an invoice
        # is deleted). Partial: every query on it names an invoice.
        Index(
            "ix_time_entry_team_id_invoice_id_invoiced",
            "team_id",
            "invoice_id",
            postgresql_where=text("invoice_id IS NOT NULL"),
        ),
        Index("ix_time_entry_task_id", "task_id"),
        # The list's order (newest first, keyset (started_at, id)): unfiltered and
        # `from`/`to` read one page of it instead of sorting the team's entries.
        Index(
            "ix_time_entry_team_id_started_at_id",
            "team_id",
            literal_column("started_at").desc(),
            literal_column("id").desc(),
        ),
        # Uninvoiced billable time, small however long the history: the list with
        # `billable=true&invoiced=false` and the draft's entries. `IS TRUE` because that
        # is what the queries say and PostgreSQL does not prove `billable` from it.
        Index(
            "ix_time_entry_team_id_started_at_id_unbilled",
            "team_id",
            literal_column("started_at").desc(),
            literal_column("id").desc(),
            postgresql_where=text("billable IS TRUE AND invoice_id IS NULL"),
        ),
        # Reports read every entry of a period: covering, so a year of a busy team is an
        # index-only range scan (app/reports/time_figures.py).
        Index(
            "ix_time_entry_team_id_started_at_report",
            "team_id",
            "started_at",
            postgresql_include=[*REPORT_COLUMNS, "billable"],
        ),
        # The uninvoiced report: the same, over uninvoiced billable time alone.
        Index(
            "ix_time_entry_team_id_project_id_unbilled_report",
            "team_id",
            "project_id",
            postgresql_include=[c for c in (*REPORT_COLUMNS, "started_at") if c != "project_id"],
            postgresql_where=text("billable IS TRUE AND invoice_id IS NULL"),
        ),
    )

    # Entries outlive a member's departure from the team: billing history stays intact.
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    project_id: Mapped[uuid.UUID]
    task_id: Mapped[uuid.UUID | None]
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    duration_seconds: Mapped[int | None] = mapped_column(
        BigInteger,
        Computed("(extract(epoch FROM ended_at - started_at))::bigint", persisted=True),
    )
    note: Mapped[str | None] = mapped_column(Text)
    billable: Mapped[bool] = mapped_column(Boolean)
    # Set by invoicing; an invoiced entry is frozen. One column, so an entry is on at
    # most one (non-void: voiding clears it) invoice. Its line is the one of that invoice
    # listing it in `invoice_line.time_entry_ids` (migration e81b5c07d2f4).
    invoice_id: Mapped[uuid.UUID | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class TimeEntrySpan(Base):
    """When each entry runs, kept for the no-overlap rule alone.

    Written only by triggers on `time_entry` (migration d4f2a8c61b93): inserted entries
    are copied, changes of `user_id`, `started_at` or `ended_at` follow, deletes cascade.
    The GiST exclusion lives here, not on `time_entry`, so that updates of other columns
    of an entry (invoicing stamps 10,000 at a time) neither rewrite nor re-check it. The
    app never reads or writes this table; a violation surfaces on the statement that
    wrote `time_entry`, under the constraint's name.
    """

    __tablename__ = "time_entry_span"
    __table_args__ = (
        team_fk("time_entry_id", "time_entry", ondelete="CASCADE"),
        # A null ended_at is an unbounded range: a running timer blocks later entries.
        ExcludeConstraint(
            ("team_id", "="),
            ("user_id", "="),
            (text("tstzrange(started_at, ended_at, '[)')"), "&&"),
            name="ex_time_entry_no_overlap",
            using="gist",
        ),
    )

    team_id: Mapped[uuid.UUID]
    time_entry_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID]
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class TimeEntryMove(TeamScoped, RecordModel):
    """Append-only audit of an entry moved between projects (updates are refused)."""

    __tablename__ = "time_entry_move"
    __table_args__ = (
        team_fk("time_entry_id", "time_entry", ondelete="CASCADE"),
        # An entry's history in its order (keyset by id); also the foreign key's.
        Index("ix_time_entry_move_time_entry_id_id", "time_entry_id", "id"),
    )

    time_entry_id: Mapped[uuid.UUID]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    from_project_id: Mapped[uuid.UUID]
    to_project_id: Mapped[uuid.UUID]
    reason: Mapped[str] = mapped_column(String(1000))
    ip_address: Mapped[str | None] = mapped_column(INET)
