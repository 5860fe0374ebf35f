"""one record per customer: each ticket links to the customer with its caller's phone (the
first recorded), a customer made from the call where there was none; tickets from before are
linked the same way, the earliest call of each unknown phone making its customer; a customer's
email, language and the way they want to hear from us

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INTERNAL_JOBS = "t.customer_phone <> '00000'"  # R1: the company's own work has no customer


def upgrade() -> None:
    short = sqlmodel.sql.sqltypes.AutoString
    op.add_column("customers", sa.Column("email", short(length=254), nullable=True))
    op.add_column(
        "customers",
        sa.Column("language", short(length=8), nullable=False, server_default="zh"),
    )
    op.add_column(
        "customers",
        sa.Column("notify_by", short(length=8), nullable=False, server_default="sms"),
    )
    if op.get_bind().dialect.name == "sqlite":
        # SQLite takes a new column's reference in ADD COLUMN itself (not as a constraint).
        op.execute("ALTER TABLE tickets ADD COLUMN customer_id INTEGER REFERENCES customers (id)")
    else:
        op.add_column("tickets", sa.Column("customer_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_tickets_customer_id_customers", "tickets", "customers", ["customer_id"], ["id"]
        )
    op.create_index(
        "ix_tickets_customer_created", "tickets", ["customer_id", "created_at"], unique=False
    )
    op.execute(
        "INSERT INTO customers (name, phone, address, safety_agreement_required, created_at, "
        "updated_at) SELECT t.customer_name, t.customer_phone, t.customer_address, "
        f"{sa.false().compile(dialect=op.get_bind().dialect)}, t.created_at, t.created_at "
        "FROM tickets t WHERE t.id = (SELECT min(u.id) FROM tickets u "
        "WHERE u.customer_phone = t.customer_phone AND u.created_at = (SELECT min(v.created_at) "
        "FROM tickets v WHERE v.customer_phone = t.customer_phone)) "
        f"AND {INTERNAL_JOBS} AND NOT EXISTS "
        "(SELECT 1 FROM customers c WHERE c.phone = t.customer_phone)"
    )
    op.execute(
        "UPDATE tickets SET customer_id = (SELECT min(c.id) FROM customers c "
        "WHERE c.phone = tickets.customer_phone) WHERE tickets.customer_phone <> '00000'"
    )


def downgrade() -> None:
    for name in ("email", "language", "notify_by"):
        op.drop_column("customers", name)
    op.drop_index("ix_tickets_customer_created", table_name="tickets")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_tickets_customer_id_customers", "tickets", type_="foreignkey")
    op.drop_column("tickets", "customer_id")
