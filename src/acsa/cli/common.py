"""What every command shares: one unit of work per command, the mapping of domain errors to
a line on stderr (or JSON) and an exit code, and parsing of dates, money and line specs."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from acsa import errors, money
from acsa.db.engine import get_engine, unit_of_work

T = TypeVar("T")

# a pipe or a file gets wide tables rather than folded cells
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


class State:
    db: str | None = None


STATE = State()

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON with stable fields.")


def fail(error: errors.AcsaError, as_json: bool) -> NoReturn:
    if as_json:
        print(json.dumps(error.to_dict(), default=str), file=sys.stderr)
    else:
        err.print(f"[bold red]error[/]: {error.message}", markup=True, highlight=False)
        if error.hint:
            err.print(f"  how to fix: {error.hint}", highlight=False)
    raise typer.Exit(error.exit_code)


def run(fn: Callable[[Session], T], *, as_json: bool = False, buffered: bool = True,
        read_only: bool = False) -> T:
    """Run `fn` in one transaction; a domain error rolls everything back and exits non-zero.
    What `fn` prints is held until the transaction has committed, so a user never reads
    "created" for something that was rolled back (`buffered=False` streams, for exports).
    `read_only`: `fn` writes nothing (see `unit_of_work`)."""
    held = io.StringIO()
    try:
        engine = get_engine(STATE.db)
        with contextlib.redirect_stdout(held) if buffered else contextlib.nullcontext():
            with unit_of_work(engine, read_only=read_only) as session:
                result = fn(session)
        sys.stdout.write(held.getvalue())
        return result
    except errors.AcsaError as e:
        fail(e, as_json)
    except StaleDataError:
        fail(errors.StaleVersion("the order was changed by another command at the same time"),
             as_json)
    except (sa_exc.OperationalError, sa_exc.ProgrammingError) as e:
        text = str(e.orig) if e.orig else str(e)
        if "no such table" in text or "does not exist" in text:
            fail(errors.NotFound("the database is not initialised",
                                 hint="Run `acsa init` (or `acsa db upgrade`) first."), as_json)
        if "deadlock" in text or "could not serialize" in text:
            fail(errors.StaleVersion("another command changed the same records at the same "
                                     "time; nothing was changed", hint="Run the command again."),
                 as_json)
        if "append-only" in text:
            fail(errors.IntegrityError(text.splitlines()[0]), as_json)
        fail(errors.AcsaError(f"database error: {text.splitlines()[0]}",
                              hint="Check the database URL (--db / ACSA_DATABASE_URL)."), as_json)
    except sa_exc.IntegrityError as e:
        fail(errors.AlreadyExists(f"refused by the database: {str(e.orig).splitlines()[0]}"),
             as_json)


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    if as_json:
        print(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        render()


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=title, title_justify="left", header_style="bold")
    for c in columns:
        numeric = c.lower() in {"amount", "total", "outstanding", "value", "qty", "quantity",
                                "their book", "our book", "creditor's book", "debtor's book"}
        t.add_column(c, justify="right" if numeric else "left", overflow="fold")
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    out.print(t)


# --- parsing -------------------------------------------------------------------------------
def parse_date(value: str | None, field: str, default_today: bool = True) -> dt.date:
    if value is None:
        if default_today:
            return dt.datetime.now(dt.UTC).date()
        raise typer.BadParameter("a date is required", param_hint=field)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise errors.InvalidInput(f"{field}: {value!r} is not a date",
                                  hint="Write dates as YYYY-MM-DD.", field=field) from None


def parse_money(value: str, field: str, default_currency: str | None = None) -> money.Money:
    text = value.strip()
    if default_currency and len(text.split()) == 1:
        text = f"{text} {default_currency}"
    try:
        return money.Money.parse(text)
    except errors.AcsaError as e:
        e.field = field
        e.message = f"{field}: {e.message}"
        raise


def parse_decimal(value: str, field: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise errors.InvalidInput(f"{field}: {value!r} is not a number", field=field) from None


def parse_pairs(values: list[str], field: str) -> dict[str, str]:
    """`KEY=VALUE` options (repeatable) into a dict."""
    outd: dict[str, str] = {}
    for v in values:
        if "=" not in v:
            raise errors.InvalidInput(f"{field}: {v!r} should be KEY=VALUE", field=field)
        k, _, rest = v.partition("=")
        outd[k.strip()] = rest.strip()
    return outd


def parse_line_no(key: str, field: str) -> int:
    try:
        n = int(key)
    except ValueError:
        raise errors.InvalidInput(f"{field}: {key!r} is not a line number", field=field) from None
    if n < 1:
        raise errors.InvalidInput(f"{field}: line numbers start at 1", field=field)
    return n
