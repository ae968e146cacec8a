"""Integration fixtures: a session on a migrated database holding the test world."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acsa.db.engine import unit_of_work
from tests.factories import setup_world


@pytest.fixture
def world(engine: Engine, _acsa_home: Path) -> Engine:
    with unit_of_work(engine) as s:
        setup_world(s, _acsa_home)
    return engine


@pytest.fixture
def session(world: Engine) -> Iterator[Session]:
    """One open unit of work on the world; committed at the end of the test if it passed."""
    with unit_of_work(world) as s:
        yield s
