"""row level security

A second wall behind `app.core.tenancy`: every table with a `team_id` admits the role
`hourline_app` only to the rows of the team named by the transaction's `app.team_id`
setting. Team-scoped transactions switch to that role (`SET LOCAL ROLE`) and name their
team (see `app/core/tenancy.py: scope_to_team`); a transaction that named no team sees no
team rows at all.

- `hourline_app` is not a superuser, cannot bypass row security, logs in as nobody and
  owns nothing; it has the DML grants the API needs (tables created by later migrations
  get them through default privileges, but need their own policies: see
  `tests/test_row_security.py`, which fails on a team table without them).
- The role that runs the migrations (the one the API connects as) keeps a policy that
  admits every row: it serves the named cross-team paths (sign-up, log-in, token look-ups,
  provider webhooks, the cron jobs) listed in `docs/security.md`. FORCE makes even that
  owner go through policies, so no table is readable by accident of ownership.
- Roles belong to the cluster, not the database: the role is created when missing and is
  left in place on downgrade (other databases of the cluster may use it).

Revision ID: d5f1a7c3e920
Revises: e81b5c07d2f4
Create Date: 2026-12-02 01:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'd5f1a7c3e920'
down_revision: str | None = 'e81b5c07d2f4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = 'hourline_app'
TEAM_MATCH = "team_id = nullif(current_setting('app.team_id', true), '')::uuid"

_TEAM_TABLES = """
    SELECT c.table_name FROM information_schema.columns c
    JOIN information_schema.tables t USING (table_schema, table_name)
    WHERE c.table_schema = current_schema() AND c.column_name = 'team_id'
      AND t.table_type = 'BASE TABLE'
    ORDER BY 1
"""


def _team_tables() -> list[str]:
    return [row[0] for row in op.get_bind().exec_driver_sql(_TEAM_TABLES)]


def upgrade() -> None:
    # Created once per cluster (a role that exists needs no CREATEROLE privilege); two
    # migrations of two databases in one cluster may race to create it.
    op.execute(f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$
    """)
    # The connecting role must be a member to SET ROLE (a superuser already may).
    op.execute(f"""
        DO $$ BEGIN
            IF NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
                GRANT {APP_ROLE} TO current_user;
            END IF;
        END $$
    """)
    op.execute(f'GRANT USAGE ON SCHEMA public TO {APP_ROLE}')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}')
    op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}')
    op.execute(
        'ALTER DEFAULT PRIVILEGES IN SCHEMA public '
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}'
    )
    op.execute(
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}'
    )
    for table in _team_tables():
        op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
        op.execute(
            f'CREATE POLICY team_isolation ON "{table}" TO {APP_ROLE} '
            f'USING ({TEAM_MATCH}) WITH CHECK ({TEAM_MATCH})'
        )
        op.execute(
            f'CREATE POLICY cross_team_paths ON "{table}" TO CURRENT_USER '
            'USING (true) WITH CHECK (true)'
        )


def downgrade() -> None:
    for table in _team_tables():
        op.execute(f'DROP POLICY IF EXISTS cross_team_paths ON "{table}"')
        op.execute(f'DROP POLICY IF EXISTS team_isolation ON "{table}"')
        op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
    op.execute(
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {APP_ROLE}'
    )
    op.execute(
        'ALTER DEFAULT PRIVILEGES IN SCHEMA public '
        f'REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP_ROLE}'
    )
    op.execute(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}')
    op.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}')
    op.execute(f'REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}')
