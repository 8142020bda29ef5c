import uuid
from datetime import date
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.clients.models import enum_column
from app.core.db import RecordModel, TeamScoped, team_fk


class RateKind(StrEnum):
    bill = "bill"
    cost = "cost"


class RateScope(StrEnum):
    team = "team"
    member = "member"
    client = "client"
    project = "project"
    project_member = "project_member"


# Which ids each scope carries (and only those).
SCOPE_IDS: dict[RateScope, tuple[str, ...]] = {
    RateScope.team: (),
    RateScope.member: ("user_id",),
    RateScope.client: ("client_id",),
    RateScope.project: ("project_id",),
    RateScope.project_member: ("project_id", "user_id"),
}


def _scope_check() -> str:
    clauses = []
    for scope, ids in SCOPE_IDS.items():
        parts = [
            f"{c} IS {'NOT ' if c in ids else ''}NULL"
            for c in ("user_id", "client_id", "project_id")
        ]
        clauses.append(f"(scope = '{scope.value}' AND {' AND '.join(parts)})")
    return " OR ".join(clauses)


class Rate(TeamScoped, RecordModel):
    """An hourly rate effective from a date until the next row of the same key."""

    __tablename__ = "rate"
    __table_args__ = (
        team_fk("client_id", "client", ondelete="CASCADE"),
        team_fk("project_id", "project", ondelete="CASCADE"),
        CheckConstraint(_scope_check(), name="scope_ids"),
        CheckConstraint("hourly_rate_amount >= 0", name="amount_not_negative"),
        # One row per key and date; NULLS NOT DISTINCT so team-scope rows collide too.
        Index(
            "uq_rate_key_effective_from",
            "team_id",
            "kind",
            "scope",
            "user_id",
            "client_id",
            "project_id",
            "currency",
            "effective_from",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_rate_team_id_kind_effective_from", "team_id", "kind", "effective_from"),
        # A key's history by columns whose comparisons are leakproof: under row-level
        # security `kind`/`scope` (enums) cannot be index conditions, these can
        # (app/rates/resolution.py: the bill rate of a page's entries, one probe a scope).
        Index(
            "ix_rate_team_id_key_effective_from",
            "team_id",
            "project_id",
            "user_id",
            "client_id",
            "currency",
            "effective_from",
        ),
        # The list's order (keyset by id) within the team.
        Index("ix_rate_team_id_id", "team_id", "id"),
    )

    kind: Mapped[RateKind] = mapped_column(enum_column(RateKind, "rate_kind"))
    scope: Mapped[RateScope] = mapped_column(enum_column(RateScope, "rate_scope"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE")
    )
    client_id: Mapped[uuid.UUID | None]
    project_id: Mapped[uuid.UUID | None]
    hourly_rate_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    effective_from: Mapped[date]
    note: Mapped[str | None] = mapped_column(String(200))
