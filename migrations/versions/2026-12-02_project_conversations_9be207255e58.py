"""project conversations

Issue 17: a project's viewers get a `role` (`viewer`, the default and what every existing
viewer stays, or `collaborator`); tasks remember the contact who requested them from
the portal; `comment` holds the threads of projects and tasks (tombstones kept); and
`contact_digest` where each contact's hourly digest stands. Row security on both new
tables as on every team table: ENABLE + FORCE, `team_isolation` for the app role and
`cross_team_paths` for the connecting role.

Revision ID: 9be207255e58
Revises: c3b9e5a1f702
Create Date: 2026-12-02 06:44:36.145630+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9be207255e58"
down_revision: str | None = "c3b9e5a1f702"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "hourline_app"
TEAM_MATCH = "team_id = nullif(current_setting('app.team_id', true), '')::uuid"


def _row_security(table: str) -> None:
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


def upgrade() -> None:
    op.create_table(
        "contact_digest",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("after_event_id", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["team_id", "contact_id"],
            ["contact.team_id", "contact.id"],
            name=op.f("fk_contact_digest_team_id_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_contact_digest")),
    )
    op.create_index(
        op.f("ix_contact_digest_updated_at"), "contact_digest", ["updated_at"], unique=False
    )
    op.create_table(
        "comment",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column(
            "visibility", sa.Enum("client", "internal", name="comment_visibility"), nullable=False
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("author_type", sa.String(length=10), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("author_contact_id", sa.Uuid(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
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
            "author_type = 'user' OR visibility = 'client'",
            name=op.f("ck_comment_contacts_write_client"),
        ),
        sa.CheckConstraint(
            "author_type IN ('user', 'contact')", name=op.f("ck_comment_author_type")
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["user_account.id"],
            name=op.f("fk_comment_author_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "author_contact_id"],
            ["contact.team_id", "contact.id"],
            name=op.f("fk_comment_team_id_author_contact_id_contact"),
            ondelete="SET NULL (author_contact_id)",
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "project_id"],
            ["project.team_id", "project.id"],
            name=op.f("fk_comment_team_id_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "task_id"],
            ["task.team_id", "task.id"],
            name=op.f("fk_comment_team_id_task_id_task"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_comment_team_id_team"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment")),
    )
    op.create_index(
        "ix_comment_author_contact_id",
        "comment",
        ["author_contact_id"],
        unique=False,
        postgresql_where=sa.text("author_contact_id IS NOT NULL"),
    )
    op.create_index(op.f("ix_comment_author_user_id"), "comment", ["author_user_id"], unique=False)
    op.create_index(
        "ix_comment_project_id_task_id_id", "comment", ["project_id", "task_id", "id"], unique=False
    )
    op.create_index(
        "ix_comment_task_id",
        "comment",
        ["task_id"],
        unique=False,
        postgresql_where=sa.text("task_id IS NOT NULL"),
    )
    op.create_index(op.f("ix_comment_updated_at"), "comment", ["updated_at"], unique=False)
    viewer_role = sa.Enum("viewer", "collaborator", name="viewer_role")
    viewer_role.create(op.get_bind())
    op.add_column(
        "project_viewer",
        sa.Column(
            "role",
            sa.Enum("viewer", "collaborator", name="viewer_role", create_type=False),
            server_default="viewer",
            nullable=False,
        ),
    )
    op.add_column("task", sa.Column("requested_by_contact_id", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_task_requested_by_contact_id",
        "task",
        ["requested_by_contact_id"],
        unique=False,
        postgresql_where=sa.text("requested_by_contact_id IS NOT NULL"),
    )
    op.create_foreign_key(
        op.f("fk_task_team_id_requested_by_contact_id_contact"),
        "task",
        "contact",
        ["team_id", "requested_by_contact_id"],
        ["team_id", "id"],
        ondelete="SET NULL (requested_by_contact_id)",
    )
    _row_security("comment")
    _row_security("contact_digest")


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_task_team_id_requested_by_contact_id_contact"), "task", type_="foreignkey"
    )
    op.drop_index(
        "ix_task_requested_by_contact_id",
        table_name="task",
        postgresql_where=sa.text("requested_by_contact_id IS NOT NULL"),
    )
    op.drop_column("task", "requested_by_contact_id")
    op.drop_column("project_viewer", "role")
    op.drop_index(op.f("ix_comment_updated_at"), table_name="comment")
    op.drop_index(
        "ix_comment_task_id", table_name="comment", postgresql_where=sa.text("task_id IS NOT NULL")
    )
    op.drop_index("ix_comment_project_id_task_id_id", table_name="comment")
    op.drop_index(op.f("ix_comment_author_user_id"), table_name="comment")
    op.drop_index(
        "ix_comment_author_contact_id",
        table_name="comment",
        postgresql_where=sa.text("author_contact_id IS NOT NULL"),
    )
    op.drop_table("comment")
    op.drop_index(op.f("ix_contact_digest_updated_at"), table_name="contact_digest")
    op.drop_table("contact_digest")
    op.execute("DROP TYPE comment_visibility")
    op.execute("DROP TYPE viewer_role")
