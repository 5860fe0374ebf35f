"""work orders (R17-R20): the parts store and its movements, approvals, the advisors' weekly
discount counts, the ticket's work order

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ticket_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ticket_number", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("approver_roles", sa.JSON(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_approvals_status_requested", ["status", "requested_at"], unique=False
        )
        batch_op.create_index("ix_approvals_ticket", ["ticket_id"], unique=False)

    op.create_table(
        "discount_grants",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("advisor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "discount_weeks",
        sa.Column("advisor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("advisor", "week"),
    )
    op.create_table(
        "parts",
        sa.Column("part_no", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("list_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("stock_on_hand", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("stock_on_hand >= 0", name="ck_parts_stock"),
        sa.PrimaryKeyConstraint("part_no"),
    )
    op.create_table(
        "stock_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("part_no", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True),
        sa.Column("unit_cost", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("list_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["part_no"],
            ["parts.part_no"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "part_no", name="uq_stock_movements_key_part"),
    )
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.create_index("ix_stock_movements_part", ["part_no", "at"], unique=False)
        batch_op.create_index("ix_stock_movements_ticket", ["ticket_id"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_order", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("work_order")

    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_movements_ticket")
        batch_op.drop_index("ix_stock_movements_part")

    op.drop_table("stock_movements")
    op.drop_table("parts")
    op.drop_table("discount_weeks")
    op.drop_table("discount_grants")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index("ix_approvals_ticket")
        batch_op.drop_index("ix_approvals_status_requested")

    op.drop_table("approvals")
