"""The Alembic migrations build exactly the schema the code declares, on SQLite and
PostgreSQL, and running them again at every start is harmless."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pprint import pformat

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, insert, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from core.db import MIGRATIONS, migrate
from models.tables import CustomerRecord, PartUsageRecord, TicketRecord, User
from store.users import create_user

# The database matters here: run on SQLite and on PostgreSQL.
pytestmark = pytest.mark.both_databases


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == [], pformat(differences)


def test_migrated_schema_has_every_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrating_again_is_harmless(engine: Engine) -> None:
    # Every process migrates at start: a second run changes nothing and keeps the data.
    with Session(engine) as db:
        create_user(
            db, username="keeper", password="password-123", full_name="Keeper", roles=["clerk"]
        )
    migrate(engine)
    migrate(engine)
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert [v for (v,) in versions] == [head_revision()]
    with Session(engine) as db:
        kept = db.get(User, "keeper")
        assert kept is not None and kept.roles == ["clerk"]


def test_tickets_from_before_get_their_milestones_part_lines_and_customer(
    engine: Engine,
) -> None:
    # R30, R36 at the upgrade to 0009: the instants the KPIs read and the parts used come from
    # the timeline of tickets called in before; at 0011 each is linked to its customer's one
    # record, made from its call where there was none (not for an internal job, R1).
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    called = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    with engine.begin() as connection:
        tickets = Table("tickets", MetaData(), autoload_with=connection)
        timeline = Table("ticket_timeline", MetaData(), autoload_with=connection)
        later = called + timedelta(days=1)
        for ticket_id, name, phone, status, at in (
            ("old", "Li", "138", "closed", called),
            ("again", "Li Lei", "138", "registered", later),
            ("internal", "internal: training", "00000", "registered", later),
        ):
            connection.execute(
                insert(tickets).values(
                    id=ticket_id,
                    number=f"T2026-{ticket_id}",
                    seq=5,
                    status=status,
                    service_type="paid",
                    zone="urban",
                    customer_name=name,
                    customer_phone=phone,
                    customer_address="Rd",
                    product_model="TV-55",
                    problem="p",
                    channel="phone",
                    priority=0,
                    evidence={},
                    amount_due=0,
                    amount_paid=0,
                    registered_by="clerk1",
                    created_at=at,
                    updated_at=at,
                )
            )
        steps = [
            ("call_in", {}),
            ("dispatch", {"technician": "tech1"}),
            ("arrive", {}),
            ("resolve", {"parts": [{"part_no": "FUSE", "qty": 2}, {"name": "old cable"}]}),
            ("close", {}),
        ]
        connection.execute(
            insert(timeline),
            [
                {
                    "ticket_id": "old",
                    "seq": seq,
                    "at": called + timedelta(hours=seq),
                    "action": action,
                    "actor": "x",
                    "data": data,
                }
                for seq, (action, data) in enumerate(steps, 1)
            ],
        )
    migrate(engine)

    with Session(engine) as db:
        old = db.get(TicketRecord, "old")
        assert old is not None
        assert (old.dispatched_at, old.dispatches) == (called + timedelta(hours=2), 1)
        assert (old.arrived_at, old.resolved_at) == (
            called + timedelta(hours=3),
            called + timedelta(hours=4),
        )
        assert (old.ended_at, old.carried_in, old.arrival_minutes) == (
            called + timedelta(hours=5),
            False,
            None,
        )
        lines = db.exec(select(PartUsageRecord).order_by(col(PartUsageRecord.line))).all()
    with Session(engine) as db:
        [customer] = db.exec(select(CustomerRecord)).all()
        linked = {t.id: t.customer_id for t in db.exec(select(TicketRecord)).all()}
    assert (customer.name, customer.phone) == ("Li", "138")  # from the earliest call
    assert linked == {"old": customer.id, "again": customer.id, "internal": None}
    assert [(u.seq, u.line, u.part_no, u.qty, u.product_model) for u in lines] == [
        (4, 0, "FUSE", 2, "TV-55"),
        (4, 1, "old cable", 1, "TV-55"),
    ]
