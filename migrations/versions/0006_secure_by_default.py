"""secure by default: token versions, hashed survey tokens, ticket technicians, escalations
read from their own table

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:00:00
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
        )

    # Survey tokens are kept only as their SHA-256.
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    connection = op.get_bind()
    surveys = sa.table(
        "surveys",
        sa.column("ticket_id", sa.String),
        sa.column("token", sa.String),
        sa.column("token_hash", sa.String),
    )
    for ticket_id, token in connection.execute(
        sa.select(surveys.c.ticket_id, surveys.c.token).where(surveys.c.token.is_not(None))
    ).all():
        connection.execute(
            surveys.update()
            .where(surveys.c.ticket_id == ticket_id)
            .values(token_hash=hashlib.sha256(token.encode()).hexdigest(), token=None)
        )
    if connection.dialect.name == "postgresql":
        op.drop_constraint("surveys_token_key", "surveys", type_="unique")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_column("token")
        batch_op.create_unique_constraint("surveys_token_hash_key", ["token_hash"])

    # R4: every technician a ticket was ever assigned to, from the dispatches so far.
    op.create_table(
        "ticket_technicians",
        sa.Column("ticket_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("technician", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("ticket_id", "technician"),
    )
    with op.batch_alter_table("ticket_technicians", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_technicians_technician", ["technician", "ticket_id"], unique=False
        )
    timeline = sa.table(
        "ticket_timeline",
        sa.column("ticket_id", sa.String),
        sa.column("action", sa.String),
        sa.column("data", sa.JSON),
    )
    tickets = sa.table("tickets", sa.column("id", sa.String), sa.column("technician", sa.String))
    assigned = {
        (ticket_id, data["technician"])
        for ticket_id, data in connection.execute(
            sa.select(timeline.c.ticket_id, timeline.c.data).where(timeline.c.action == "dispatch")
        ).all()
        if isinstance(data, dict) and data.get("technician")
    }
    assigned |= set(
        connection.execute(
            sa.select(tickets.c.id, tickets.c.technician).where(tickets.c.technician.is_not(None))
        ).all()
    )
    if assigned:
        op.bulk_insert(
            sa.table(
                "ticket_technicians",
                sa.column("ticket_id", sa.String),
                sa.column("technician", sa.String),
            ),
            [{"ticket_id": t, "technician": who} for t, who in sorted(assigned)],
        )

    # A ticket's escalations are read from `escalations`, which also holds its complaints' (R16).
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("escalations")
        batch_op.drop_column("open_escalations")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index("ix_escalations_ticket")
        batch_op.create_index(
            "ix_escalations_ticket", ["ticket_id", "acknowledged_at"], unique=False
        )


def downgrade() -> None:
    raise NotImplementedError("survey tokens cannot be un-hashed")
