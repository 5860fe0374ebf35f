"""a ticket's attachments (issue 14): photos and documents about the ticket, a repair round,
an inspection or a complaint; the bytes are in the file store under their SHA-256

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", text(length=64), nullable=False),
        sa.Column("about", text(length=16), nullable=False),
        sa.Column("ref", text(length=32), nullable=True),
        sa.Column("filename", text(length=200), nullable=False),
        sa.Column("content_type", text(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", text(length=71), nullable=False),
        sa.Column("note", text(), nullable=True),
        sa.Column("uploaded_by", text(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attachments_ticket", "attachments", ["ticket_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_attachments_ticket", table_name="attachments")
    op.drop_table("attachments")
