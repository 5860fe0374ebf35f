"""the milestones the KPIs read (R30) and the branch of each ticket: first dispatch, how many
dispatches, first arrival, carry-in, resolution and end, with the working minutes to arrive and
to resolve; tickets from before get their instants from the timeline (their working minutes,
which need their calendar, stay unknown)

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


def downgrade() -> None:
    op.drop_index("ix_timeline_action_at", table_name="ticket_timeline")
    op.drop_index("ix_tickets_branch_created", table_name="tickets")
    for name in ("branch", *INSTANTS, "dispatches", "arrival_minutes", "carried_in"):
        op.drop_column("tickets", name)
    op.drop_column("tickets", "resolution_minutes")
