"""the day's reports (R27-R29): per branch and day, the technicians' reports, the director's
roll-up, the manager's signature and the forwarding

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "daily_reports",
        sa.Column("id", text(length=160), nullable=False),
        sa.Column("workflow_id", text(length=200), nullable=False),
        sa.Column("branch", text(length=100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", text(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("technicians", sa.JSON(), nullable=False),
        sa.Column("roll_up", sa.JSON(), nullable=True),
        sa.Column("signed_by", text(length=64), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sign_note", text(), nullable=True),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("branch", "day", name="uq_daily_reports_branch_day"),
    )
    op.create_index("ix_daily_reports_day", "daily_reports", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_daily_reports_day", table_name="daily_reports")
    op.drop_table("daily_reports")
