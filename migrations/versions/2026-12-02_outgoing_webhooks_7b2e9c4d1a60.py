"""outgoing webhooks

Endpoints a team's events are POSTed to (Standard Webhooks), and one delivery row per
event and endpoint (`docs/webhooks.md`). Both tables carry `team_id`, so both get row
security like every team table (`d5f1a7c3e920`): ENABLE + FORCE, `team_isolation` for
`hourline_app`, `cross_team_paths` for the connecting role.

Revision ID: 7b2e9c4d1a60
Revises: 4f53b839a5bd
Create Date: 2026-12-02 01:47:03.092583+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7b2e9c4d1a60"
down_revision: str | None = "4f53b839a5bd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "hourline_app"
TEAM_MATCH = "team_id = nullif(current_setting('app.team_id', true), '')::uuid"
TABLES = ("webhook_endpoint", "webhook_delivery")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=500), server_default="", nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.String(length=100)), nullable=False),
        sa.Column(
            "status",
            sa.Enum("enabled", "disabled", name="webhook_endpoint_status"),
            server_default="enabled",
            nullable=False,
        ),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("previous_secret_sealed", sa.Text(), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "cardinality(event_types) > 0", name=op.f("ck_webhook_endpoint_event_types_present")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
            name=op.f("fk_webhook_endpoint_team_id_team"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
        sa.UniqueConstraint("team_id", "id", name=op.f("uq_webhook_endpoint_team_id_id")),
    )
    op.create_index(
        op.f("ix_webhook_endpoint_updated_at"), "webhook_endpoint", ["updated_at"], unique=False
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "succeeded", "failed", name="webhook_delivery_status"),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("job_token", sa.String(length=32), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_webhook_delivery_attempts")),
        sa.ForeignKeyConstraint(
            ["team_id", "endpoint_id"],
            ["webhook_endpoint.team_id", "webhook_endpoint.id"],
            name=op.f("fk_webhook_delivery_team_id_endpoint_id_webhook_endpoint"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
            name=op.f("fk_webhook_delivery_team_id_team"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint(
            "endpoint_id", "event_id", name=op.f("uq_webhook_delivery_endpoint_id_event_id")
        ),
    )
    op.create_index(
        "ix_webhook_delivery_team_id_endpoint_id_id",
        "webhook_delivery",
        ["team_id", "endpoint_id", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_webhook_delivery_updated_at"), "webhook_delivery", ["updated_at"], unique=False
    )
    # Pending deliveries by due time: the cron that requeues lost attempts reads it.
    op.create_index(
        "ix_webhook_delivery_pending_next_attempt_at",
        "webhook_delivery",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    for table in TABLES:
        op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
        op.execute(
            f'CREATE POLICY team_isolation ON "{table}" TO {APP_ROLE} '
            f"USING ({TEAM_MATCH}) WITH CHECK ({TEAM_MATCH})"
        )
        op.execute(
            f'CREATE POLICY cross_team_paths ON "{table}" TO CURRENT_USER '
            "USING (true) WITH CHECK (true)"
        )


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_pending_next_attempt_at", table_name="webhook_delivery")
    op.drop_index(op.f("ix_webhook_delivery_updated_at"), table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_team_id_endpoint_id_id", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index(op.f("ix_webhook_endpoint_updated_at"), table_name="webhook_endpoint")
    op.drop_table("webhook_endpoint")
    op.execute("DROP TYPE webhook_delivery_status")
    op.execute("DROP TYPE webhook_endpoint_status")
