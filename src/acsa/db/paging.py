"""One page of a filtered, sorted query and how many rows match in all: the shape every
register (orders, claims, offsets, events) shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def page(session: Session, model: type[T], conds: Sequence[Any], order_by: Sequence[Any], *,
         offset: int = 0, limit: int | None = None,
         options: Sequence[Any] = ()) -> tuple[list[T], int]:
    """`options`: loader options for the page's rows (e.g. relationships a register does not
    show, loaded only if touched)."""
    stmt = select(model).where(*conds).order_by(*order_by).offset(offset).options(*options)
    if limit is not None:
        stmt = stmt.limit(limit)
    count = session.scalar(select(func.count()).select_from(model).where(*conds)) or 0
    return list(session.scalars(stmt)), count
