"""The Alembic migrations build exactly the schema the code declares, on SQLite and
PostgreSQL, and running them again at every start is harmless."""

from __future__ import annotations

from pprint import pformat

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from core.db import MIGRATIONS, migrate
from models.tables import User
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
