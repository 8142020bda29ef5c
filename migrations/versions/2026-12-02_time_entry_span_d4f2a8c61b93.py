"""time entry span

The no-overlap rule (a user's entries in a team never overlap) moves from time_entry to
a narrow table of its own, time_entry_span (team, entry, user, start, end), kept in step
by triggers on time_entry: a statement trigger copies inserted entries, a row trigger
follows changes of user_id, started_at or ended_at, and the foreign key cascades deletes.

Why: an UPDATE of time_entry that is not HOT (any change of an indexed column, e.g.
invoicing stamping invoice_id and updated_at on 10,000 entries) inserts a new entry in
every index of the row, and the GiST exclusion index also searches for overlaps of a
range that did not change: about half of the cost of stamping a draft's entries. On the
narrow table only what the rule reads is indexed, and only changes of those columns
reach it. The constraint keeps its name, so the API's 409 time_entry_overlap is
unchanged; it is still checked by PostgreSQL in the writing statement.

One transaction: the triggers are created first (from then on writes to time_entry wait
for the migration), the existing entries are copied and the exclusion is built on the
copy, and only then is time_entry's own constraint dropped and the new one renamed to
its name. Reads of time_entry are blocked only for that last step. At a million entries
on a 2-core machine it took 102 s (mostly the exclusion's build and check on the copy),
writes waiting all along: on a large installation, run it in a quiet hour.

Revision ID: d4f2a8c61b93
Revises: c3e5a7f19b42
Create Date: 2026-12-02 00:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd4f2a8c61b93'
down_revision: str | None = 'c3e5a7f19b42'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RANGE = "tstzrange(started_at, ended_at, '[)')"

TRIGGERS = (
    """
    CREATE FUNCTION time_entry_span_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO time_entry_span (team_id, time_entry_id, user_id, started_at, ended_at)
        SELECT team_id, id, user_id, started_at, ended_at FROM added;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER time_entry_span_insert AFTER INSERT ON time_entry
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION time_entry_span_insert()
    """,
    """
    CREATE FUNCTION time_entry_span_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE time_entry_span
           SET user_id = NEW.user_id, started_at = NEW.started_at, ended_at = NEW.ended_at
         WHERE team_id = NEW.team_id AND time_entry_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    # Only statements that set one of these columns fire it: stamping an invoice does not.
    """
    CREATE TRIGGER time_entry_span_update AFTER UPDATE OF user_id, started_at, ended_at
        ON time_entry FOR EACH ROW
        WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id
              OR OLD.started_at IS DISTINCT FROM NEW.started_at
              OR OLD.ended_at IS DISTINCT FROM NEW.ended_at)
        EXECUTE FUNCTION time_entry_span_update()
    """,
)


def upgrade() -> None:
    op.create_table('time_entry_span',
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('time_entry_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['team_id', 'time_entry_id'], ['time_entry.team_id', 'time_entry.id'], name=op.f('fk_time_entry_span_team_id_time_entry_id_time_entry'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('time_entry_id', name=op.f('pk_time_entry_span'))
    )
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute(
        "INSERT INTO time_entry_span (team_id, time_entry_id, user_id, started_at, ended_at)"
        " SELECT team_id, id, user_id, started_at, ended_at FROM time_entry"
    )
    op.execute(
        "ALTER TABLE time_entry_span ADD CONSTRAINT ex_time_entry_span_no_overlap EXCLUDE"
        f" USING gist (team_id WITH =, user_id WITH =, ({_RANGE}) WITH &&)"
    )
    op.drop_constraint('ex_time_entry_no_overlap', 'time_entry')
    op.execute(
        "ALTER TABLE time_entry_span"
        " RENAME CONSTRAINT ex_time_entry_span_no_overlap TO ex_time_entry_no_overlap"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE time_entry ADD CONSTRAINT ex_time_entry_overlap_restored EXCLUDE"
        f" USING gist (team_id WITH =, user_id WITH =, ({_RANGE}) WITH &&)"
    )
    op.execute("DROP TRIGGER time_entry_span_update ON time_entry")
    op.execute("DROP TRIGGER time_entry_span_insert ON time_entry")
    op.execute("DROP FUNCTION time_entry_span_update()")
    op.execute("DROP FUNCTION time_entry_span_insert()")
    op.drop_table('time_entry_span')
    op.execute(
        "ALTER TABLE time_entry"
        " RENAME CONSTRAINT ex_time_entry_overlap_restored TO ex_time_entry_no_overlap"
    )
