"""contracts that run themselves and who may go where (R13, R31-R34): a contract's own
arrival hours, zone, type, inspection schedule and checklist, free maintenance, termination and
workflow; customers' sites that need a safety agreement, the agreements, product categories
and technicians' certificates

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "customers",
        sa.Column(
            "safety_agreement_required", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.add_column("contracts", sa.Column("arrival_hours", sa.Float(), nullable=True))
    op.add_column("tickets", sa.Column("inspection", sa.JSON(), nullable=True))
    zone = sqlmodel.sql.sqltypes.AutoString(length=64)
    op.add_column("contracts", sa.Column("zone", zone, nullable=False, server_default="urban"))
    op.add_column(
        "contracts",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    )
    op.add_column(
        "contracts",
        sa.Column("every", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    )
    op.add_column("contracts", sa.Column("dates", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column(
        "contracts", sa.Column("checklist", sa.JSON(), nullable=False, server_default="[]")
    )
    op.add_column("contracts", sa.Column("free_maintenance_until", sa.Date(), nullable=True))
    op.add_column("contracts", sa.Column("terminated_on", sa.Date(), nullable=True))
    op.add_column(
        "contracts",
        sa.Column("workflow_started", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "contracts",
        sa.Column("uid", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    )
    # Contracts from before: monthly inspections (the policy's default), named by their id.
    op.execute("UPDATE contracts SET every = 'month', uid = 'c' || CAST(id AS VARCHAR(20))")
    op.create_index("ix_contracts_uid", "contracts", ["uid"], unique=True)
    op.add_column(
        "products",
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    )
    op.create_table(
        "safety_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("signer", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("document_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("valid_until >= signed_on", name="ck_safety_agreements_period"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_safety_agreements_customer_id", "safety_agreements", ["customer_id"], unique=False
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["username"], ["users.username"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_certificates_username", "certificates", ["username"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_certificates_username", table_name="certificates")
    op.drop_table("certificates")
    op.drop_index("ix_safety_agreements_customer_id", table_name="safety_agreements")
    op.drop_table("safety_agreements")
    op.drop_column("products", "category")
    op.drop_column("customers", "safety_agreement_required")
    op.drop_column("tickets", "inspection")
    op.drop_index("ix_contracts_uid", table_name="contracts")
    for column in (
        "uid",
        "workflow_started",
        "terminated_on",
        "free_maintenance_until",
        "checklist",
        "dates",
        "every",
        "kind",
        "zone",
        "arrival_hours",
    ):
        op.drop_column("contracts", column)
