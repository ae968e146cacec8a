"""Helpers for the end-to-end tests: order lines as `--line` specs, taking an order through
its life with acsa commands, reading the statement of balances, and checking refusals."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.e2e.conftest import UNITS, Cli, Result, db_state, official

OTHER = {"PH": "JP", "JP": "PH"}


def line(category: str, description: str, qty: str, unit: str, price: str, method: str,
         stock: str = "") -> str:
    spec = (f"category={category};description={description};qty={qty};unit={unit};"
            f"price={price};method={method}")
    return spec + (f";stock={stock}" if stock else "")


DIESEL = ("fuel", "Diesel fuel, marine (F-76)", "9140-00-273-2377")


def day(text: str, days: int = 0) -> str:
    return (dt.date.fromisoformat(text) + dt.timedelta(days=days)).isoformat()


def document(folder: Path, name: str) -> tuple[Path, str]:
    """A source document file and its SHA-256."""
    content = f"%PDF-1.4\n% {name}: issue slip, signed by the supplying official\n".encode()
    path = folder / name
    path.write_bytes(content)
    return path, hashlib.sha256(content).hexdigest()


def create(cli: Cli, *, requester: str, lines: list[str], on: str,
           activity: str = "KAMANDAG-10", place: str = "Alava Pier, Subic Bay",
           extra: tuple[str, ...] = ()) -> dict[str, Any]:
    args: list[str] = ["orders", "create", "--agreement", "PHJP", "--activity", activity,
                       "--by", official(requester, "req"), "--on", on,
                       "--delivery-place", place, "--delivery-on", day(on, 2),
                       "--fund-citation", f"{requester} FY2026 O&M 02-31-118",
                       "--requester-poc", f"{requester} logistics officer, +00 000 0000",
                       "--requesting-unit", UNITS[requester][0], *extra]
    for spec in lines:
        args += ["--line", spec]
    return cli.json(*args)


def through(cli: Cli, number: str, requester: str, *, on: str, until: str,
            doc: Path, receive: tuple[str, ...] = ()) -> dict[str, Any]:
    """Take an order from draft to `until` (requested, accepted, delivered, received); the
    acts are dated `on`, delivery and receipt two days later."""
    supplier = OTHER[requester]
    view = cli.json("orders", "request", number, "--by", official(requester, "req"), "--on", on)
    if until == "requested":
        return view
    view = cli.json("orders", "accept", number, "--by", official(supplier, "app"), "--on", on,
                    "--supplier-poc", f"{supplier} duty officer",
                    "--supplying-unit", UNITS[supplier][0])
    if until == "accepted":
        return view
    view = cli.json("orders", "deliver", number, "--by", official(supplier, "sup"),
                    "--on", day(on, 2), "--document", doc)
    if until == "delivered":
        return view
    view = cli.json("orders", "receive", number, "--by", official(requester, "rcv"),
                    "--on", day(on, 2), *receive)
    assert until == "received", until
    return view


def order_to(cli: Cli, requester: str, spec: str, *, on: str, until: str, doc: Path,
             activity: str = "KAMANDAG-10") -> dict[str, Any]:
    number = create(cli, requester=requester, lines=[spec], on=on, activity=activity)["number"]
    return through(cli, number, requester, on=on, until=until, doc=doc)


# --- the statement of balances --------------------------------------------------------------
def balances(cli: Cli, as_of: str) -> list[dict[str, Any]]:
    rows = cli.json("books", "balance", "--as-of", as_of, "--agreement", "PHJP")["balances"]
    for r in rows:
        assert r["books_agree"] is True, r
        assert r["creditor_book_units"] == r["debtor_book_units"], r
    return rows


def owed(rows: list[dict[str, Any]], creditor: str, method: str) -> int:
    """What the other party owes `creditor` by `method`, in the books' units (0 if no row)."""
    found = [r for r in rows if r["creditor"] == creditor and r["method"] == method]
    assert len(found) <= 1, found
    return found[0]["creditor_book_units"] if found else 0


def minor(amount: str) -> int:
    """'947,900.00 PHP' -> 94790000; '4,000,000 JPY' -> 4000000."""
    number, _ = amount.split()
    return int(Decimal(number.replace(",", "")) * (1 if "." not in number else 100))


def claim(view: dict[str, Any], number: str) -> dict[str, Any]:
    found = [c for c in view["claims"] if c["number"] == number]
    assert found, f"no claim {number} in {view['claims']}"
    return found[0]


# --- refusals -------------------------------------------------------------------------------
def check_refusal(cli: Cli, args: tuple[object, ...], *, code: int, error: str,
                  fragment: str, text: bool = True) -> list[str]:
    """Run a command that must be refused, as --json (and as text unless `text` is false):
    the exit code, the first line of stderr naming the problem, the JSON error document, and
    not one row changed. Returns what was wrong (empty when all held)."""
    problems: list[str] = []
    before = db_state(cli.db)
    json_run = cli.run(*args, "--json")
    text_run = cli.run(*args) if text else None

    def bad(r: Result, why: str) -> None:
        problems.append(f"{why}\n{r.describe()}")

    for r in (json_run, text_run):
        if r and r.code != code:
            bad(r, f"exit {r.code}, expected {code}")
        if r and r.out:
            bad(r, "printed on stdout")
    first = text_run.first_err_line if text_run else f"error: {fragment}"
    if text_run and (not first.startswith("error: ") or fragment.lower() not in first.lower()):
        bad(text_run, f"first stderr line does not name the problem ({fragment!r})")
    try:
        doc = json_run.error()
    except (AssertionError, ValueError) as e:
        bad(json_run, f"stderr is not one JSON document ({e})")
    else:
        if doc.get("error") != error:
            bad(json_run, f"error class {doc.get('error')!r}, expected {error!r}")
        if fragment.lower() not in str(doc.get("message", "")).lower():
            bad(json_run, f"JSON message does not name the problem ({fragment!r})")
    if db_state(cli.db) != before:
        problems.append(f"the database changed: acsa {' '.join(map(str, args))}")
    return problems
