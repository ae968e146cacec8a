"""Refusals through the `acsa` command: each one exits with its kind's code (invalid input 3,
rule 4, not found 5, forbidden 7), names the problem on the first line of stderr (as one JSON
document with the error class under --json), prints nothing on stdout, and leaves every row
of the database as it was. Grouped by the order state the refusals need, to keep commands few;
each group reports every refusal that went wrong, not just the first. The text form of an
error is one code path, the same on every backend: it is checked on SQLite, for one refusal
of each exit code; every refusal is checked in its --json form on both backends."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import LIAISON, Cli
from tests.e2e.helpers import DIESEL, check_refusal, document, line, order_to

WEAPON = line("weapons", "Rifle, 5.56mm", "10", "each", "55000", "cash", "1005-01-000-0001")
AMMO = line("ammunition", "Cartridge 5.56mm ball", "5000", "each", "45", "cash",
            "1305-01-000-0002")
FUEL = line(DIESEL[0], DIESEL[1], "10000", "L", "95.50", "cash", DIESEL[2])  # 955,000.00 PHP
Case = tuple[tuple[object, ...], int, str, str]
# the text form of an error is one code path: checked on one refusal of each exit code
TEXT_TOO = {"WeaponsExcluded", "NotFound", "WrongRole", "InvalidInput", "OrderClosed"}


def _create(*lines: str, activity: str = "KAMANDAG-10", on: str = "2026-06-01",
            by: str = "jp-req") -> tuple[str, ...]:
    args = ["orders", "create", "--agreement", "PHJP", "--activity", activity, "--by", by,
            "--on", on, "--delivery-place", "Alava Pier", "--delivery-on", "2026-06-03",
            "--fund-citation", "JMSDF FY2026 O&M", "--requester-poc", "Lt Cdr Sato",
            "--requesting-unit", "JMSDF-ESC1"]
    for spec in lines:
        args += ["--line", spec]
    return tuple(args)


def _all_refused(cli: Cli, backend: str, cases: list[Case]) -> None:
    problems = [p for args, code, error, fragment in cases
                for p in check_refusal(cli, args, code=code, error=error, fragment=fragment,
                                       text=backend == "sqlite" and error in TEXT_TOO)]
    assert not problems, "\n\n".join(problems)


def test_refused_orders_and_unknown_ones(world: Cli, backend: str) -> None:
    _all_refused(world, backend, [
        (_create(FUEL, WEAPON), 4, "WeaponsExcluded", "weapons are excluded"),
        (_create(AMMO, activity="HADR-CEBU", on="2026-08-10"), 4, "AmmunitionNotAllowed",
         "ammunition"),
        (("orders", "show", "PHJP-JP-2026-0999"), 5, "NotFound", "PHJP-JP-2026-0999"),
    ])
    assert world.json("orders", "list") == []


def test_refused_signatures(world: Cli, backend: str) -> None:
    number = world.json(*_create(FUEL, by=LIAISON[0]))["number"]
    world("orders", "request", number, "--by", LIAISON[0], "--on", "2026-06-01")
    supplier = ("--supplier-poc", "Lt Reyes", "--supplying-unit", "PN-NFSL", "--on",
                "2026-06-01")
    _all_refused(world, backend, [
        # a supplying official may deliver but not accept
        (("orders", "accept", number, "--by", "ph-sup", *supplier), 7, "WrongRole",
         "ph-sup is a supplying official"),
        # the same person (under two official records) requested it
        (("orders", "accept", number, "--by", LIAISON[1], *supplier), 7, "SeparationOfDuties",
         "may not also accept"),
        # no supplier point of contact or supplying unit: the order cannot bind
        (("orders", "accept", number, "--by", "ph-app", "--on", "2026-06-01"), 4,
         "MissingDataElements", "supplying unit"),
    ])
    view = world.json("orders", "show", number)
    assert (view["state"], view["accepted_by"]) == ("requested", None)


def test_refused_receipts_payments_and_changes_to_a_closed_order(
        world: Cli, backend: str, tmp_path: Path) -> None:
    ticket, _ = document(tmp_path, "fuel-ticket.pdf")
    number = order_to(world, "JP", FUEL, on="2026-06-01", until="delivered",
                      doc=ticket)["number"]
    receive = ("orders", "receive", number, "--by", "jp-rcv", "--on", "2026-06-03")
    _all_refused(world, backend, [
        ((*receive, "--line", "1=10500"), 4, "OverReceiptWithoutReason", "no 'over' reason"),
        (("orders", "receive", number, "--by", "jp-rcv", "--on", "2026-06-31"), 3,
         "InvalidInput", "'2026-06-31' is not a date"),
        (("orders", "close", number, "--by", "ph-fin", "--on", "2026-06-03"), 4, "NotTiedOut",
         "does not tie out"),
    ])
    bill = world.json(*receive)["claims"][0]["number"]
    pay = ("settle", "pay", bill, "--by", "jp-fin", "--on", "2026-06-10", "--amount")
    _all_refused(world, backend, [
        ((*pay, "1000.005 PHP"), 3, "InvalidAmount", "1000.005"),
        ((*pay, "1000 XYZ"), 3, "UnknownCurrency", "XYZ"),
    ])
    world(*pay, "955000 PHP")
    assert world.json("orders", "close", number, "--by", "ph-fin",
                      "--on", "2026-06-20")["state"] == "closed"
    _all_refused(world, backend, [
        (("orders", "dispute", number, "--by", "jp-fin", "--reason", "short delivery"), 4,
         "OrderClosed", "is closed"),
        (("orders", "deliver", number, "--by", "ph-sup", "--line", "1=100",
          "--document", ticket), 4, "OrderClosed", "is closed"),
        ((*pay, "1 PHP"), 4, "SettlementInvalid", "is settled"),
    ])


def test_receipt_hints_name_real_options(sqlite_only: None, world: Cli, tmp_path: Path) -> None:
    ticket, _ = document(tmp_path, "fuel-ticket.pdf")
    number = order_to(world, "JP", FUEL, on="2026-06-01", until="delivered",
                      doc=ticket)["number"]
    receive = ("orders", "receive", number, "--by", "jp-rcv", "--on", "2026-06-03")
    for qty, code in (("10500", 4), ("9000", 3)):
        hint = world.refused(*receive, "--line", f"1={qty}", "--json", code=code).error()["hint"]
        assert "--reason" in hint and "--over" not in hint and "--short" not in hint, hint
