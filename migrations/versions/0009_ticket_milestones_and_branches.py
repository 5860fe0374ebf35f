"""the milestones the KPIs read (R30) and the branch of each ticket: first dispatch, how many
dispatches, first arrival, carry-in, resolution and end, with the working minutes to arrive and
to resolve; tickets from before get their instants from the timeline (their working minutes,
which need their calendar, stay unknown); and the part lines of resolutions and repair rounds
(R36), from the timeline's parts lists

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANTS = {
    "dispatched_at": "MIN(at) FROM ticket_timeline WHERE action = 'dispatch'",
    "arrived_at": "MIN(at) FROM ticket_timeline WHERE action = 'arrive'",
    "resolved_at": "MIN(at) FROM ticket_timeline WHERE action IN ('resolve', 'return')",
    "ended_at": "MIN(at) FROM ticket_timeline WHERE action IN ('close', 'cancel')",
}


# The part lines of the steps from before, unnested from their JSON lists.
PART_LINES = {
    "postgresql": """
        INSERT INTO part_usage (ticket_id, seq, line, part_no, qty, product_model, used_at)
        SELECT e.ticket_id, e.seq, x.n - 1, left(coalesce(x.p->>'part_no', x.p->>'name'), 200),
               coalesce((x.p->>'qty')::int, 1), t.product_model, e.at
        FROM ticket_timeline e JOIN tickets t ON t.id = e.ticket_id
        CROSS JOIN LATERAL json_array_elements(
            CASE WHEN json_typeof(e.data->'parts') = 'array' THEN e.data->'parts'
                 ELSE '[]'::json END) WITH ORDINALITY AS x(p, n)
        WHERE e.action IN ('resolve', 'record_repair')
          AND coalesce(x.p->>'part_no', x.p->>'name') IS NOT NULL""",
    "sqlite": """
        INSERT INTO part_usage (ticket_id, seq, line, part_no, qty, product_model, used_at)
        SELECT e.ticket_id, e.seq, p.key,
               substr(coalesce(json_extract(p.value, '$.part_no'),
                               json_extract(p.value, '$.name')), 1, 200),
               coalesce(json_extract(p.value, '$.qty'), 1), t.product_model, e.at
        FROM ticket_timeline e JOIN tickets t ON t.id = e.ticket_id,
             json_each(e.data, '$.parts') p
        WHERE e.action IN ('resolve', 'record_repair')
          AND coalesce(json_extract(p.value, '$.part_no'), json_extract(p.value, '$.name'))
              IS NOT NULL""",
}


def upgrade() -> None:
    op.add_column(
        "tickets", sa.Column("branch", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
    )
    for name in INSTANTS:
        op.add_column("tickets", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "tickets", sa.Column("dispatches", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("tickets", sa.Column("arrival_minutes", sa.Integer(), nullable=True))
    op.add_column(
        "tickets",
        sa.Column("carried_in", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("tickets", sa.Column("resolution_minutes", sa.Integer(), nullable=True))
    op.create_index("ix_tickets_branch_created", "tickets", ["branch", "created_at"], unique=False)
    op.create_index("ix_timeline_action_at", "ticket_timeline", ["action", "at"], unique=False)
    for name, source in INSTANTS.items():
        op.execute(f"UPDATE tickets SET {name} = (SELECT {source} AND ticket_id = tickets.id)")
    op.execute(
        "UPDATE tickets SET dispatches = (SELECT COUNT(*) FROM ticket_timeline "
        "WHERE action = 'dispatch' AND ticket_id = tickets.id)"
    )
    op.execute(
        "UPDATE tickets SET carried_in = EXISTS (SELECT 1 FROM ticket_timeline "
        "WHERE action = 'carry_in' AND ticket_id = tickets.id)"
    )
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "part_usage",
        sa.Column("ticket_id", text(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("part_no", text(length=200), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("product_model", text(), nullable=False),
        sa.Column("branch", text(length=100), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("ticket_id", "seq", "line"),
    )
    op.create_index("ix_part_usage_used_at", "part_usage", ["used_at", "branch"], unique=False)
    op.execute(PART_LINES[op.get_bind().dialect.name])


def downgrade() -> None:
    op.drop_index("ix_part_usage_used_at", table_name="part_usage")
    op.drop_table("part_usage")
    op.drop_index("ix_timeline_action_at", table_name="ticket_timeline")
    op.drop_index("ix_tickets_branch_created", table_name="tickets")
    for name in ("branch", *INSTANTS, "dispatches", "arrival_minutes", "carried_in"):
        op.drop_column("tickets", name)
    op.drop_column("tickets", "resolution_minutes")
