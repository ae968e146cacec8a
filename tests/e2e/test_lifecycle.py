"""Whole lives of orders through the `acsa` command, one per settlement method, on a world set
up with acsa commands only: create -> request -> accept -> deliver -> receive -> settle ->
close, with the order, its claims and both parties' books checked after each settlement step;
offsets approved by both parties; and the deadline run converting an unreturned RIK."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.e2e.conftest import Cli
from tests.e2e.helpers import (
    DIESEL,
    balances,
    claim,
    create,
    day,
    document,
    line,
    minor,
    order_to,
    owed,
    through,
)


def test_cash_bill_paid_in_parts_and_in_another_currency(world: Cli, tmp_path: Path) -> None:
    ticket, sha = document(tmp_path, "fuel-delivery-ticket-0441.pdf")
    view = create(world, requester="JP", on="2026-05-27", lines=[
        line(DIESEL[0], DIESEL[1], "10000", "L", "95.50", "cash", DIESEL[2]),
        line("water", "Potable water", "80", "m**3", "150", "cash", "6810-00-000-0001")])
    number = view["number"]
    assert number == "PHJP-JP-2026-0001"
    assert (view["state"], view["currency"], view["total"]) == ("draft", "PHP", "967,000.00 PHP")
    assert view["billing_address"].startswith("Escort Flotilla 1")  # the requesting unit's

    view = world.json("orders", "request", number, "--by", "jp-req", "--on", "2026-05-27")
    assert (view["state"], view["requested_by"]) == ("requested", "jp-req")
    view = world.json("orders", "accept", number, "--by", "ph-app", "--on", "2026-05-27",
                      "--supplier-poc", "Lt Reyes, +63 47 252 0000", "--supplying-unit",
                      "PN-NFSL")
    assert (view["state"], view["accepted_by"]) == ("accepted", "ph-app")
    view = world.json("orders", "deliver", number, "--by", "ph-sup", "--on", "2026-05-29",
                      "--document", ticket)
    assert view["state"] == "delivered"
    assert view["deliveries"][0]["document"] == sha
    assert view["deliveries"][0]["lines"] == {"1": "10000", "2": "80"}

    # the ship's meter shows 200 L less: a short receipt, with its reason
    view = world.json("orders", "receive", number, "--by", "jp-rcv", "--on", "2026-05-29",
                      "--line", "1=9800", "--reason", "1=ship's manifold meter 200 L below")
    assert view["state"] == "received"
    short = view["receipts"][0]["lines"][0]
    assert (short["received"], short["discrepancy"]) == ("9800", "short")
    assert "manifold" in short["reason"]
    [bill] = view["claims"]
    bill_no = bill["number"]
    assert (bill["method"], bill["creditor"], bill["debtor"]) == ("cash", "PH", "JP")
    assert bill["amount"] == bill["outstanding"] == "947,900.00 PHP"  # 9,800 L + 80 m3
    assert bill["due_on"] == "2026-06-28"  # 30 days to pay
    assert owed(balances(world, "2026-05-29"), "PH", "cash") == 94_790_000

    steps = [("500000 PHP", "2026-06-20", "447,900.00 PHP"),
             ("1000000 JPY", "2026-06-24", "73,500.00 PHP"),  # at the FY2026 rate 0.3744
             ("73500.00 PHP", "2026-06-26", "0.00 PHP")]
    for i, (amount, on, left) in enumerate(steps, 1):
        paid = world.json("settle", "pay", bill_no, "--by", "jp-fin", "--amount", amount,
                          "--on", on, "--reference", f"JMSDF wire 2026-06-{i:02d}")
        assert paid["claim"]["outstanding"] == left
        view = world.json("orders", "show", number)
        assert claim(view, bill_no)["outstanding"] == left
        settled = left.startswith("0.00")
        assert claim(view, bill_no)["state"] == ("settled" if settled else "open")
        assert view["state"] == ("settled" if settled else "received")
        rows = balances(world, on)
        assert owed(rows, "PH", "cash") == minor(left)
    assert rows == []  # nothing owed either way, in either book

    view = world.json("orders", "close", number, "--by", "ph-fin", "--on", "2026-07-01")
    assert view["state"] == "closed"

    actions = [e["action"] for e in world.json("audit", "log", number)]
    assert [a for a in actions if a.startswith("order.")] == [
        "order.created", "order.requested", "order.accepted", "order.delivered",
        "order.received", "order.settled", "order.closed"]
    assert actions.count("claim.issued") == 1 and actions.count("claim.payment") == 3


def test_return_in_kind_in_another_unit(world: Cli, tmp_path: Path) -> None:
    slip, _ = document(tmp_path, "fuel-issue-DD110-0522.pdf")
    view = create(world, requester="PH", on="2026-05-20", lines=[
        line(DIESEL[0], DIESEL[1], "20000", "L", "150", "rik", DIESEL[2])])
    number = view["number"]
    assert (number, view["currency"], view["total"]) == ("PHJP-PH-2026-0001", "JPY",
                                                         "3,000,000 JPY")
    view = through(world, number, "PH", on="2026-05-20", until="received", doc=slip)
    [rik] = view["claims"]
    assert (rik["method"], rik["creditor"], rik["debtor"]) == ("rik", "JP", "PH")
    assert (rik["quantity"], rik["unit"], rik["due_on"]) == ("20000", "L", "2027-05-22")
    assert owed(balances(world, "2026-05-22"), "JP", "rik") == 20_000_000  # thousandths of L

    # 12 m3 back first (converted to 12,000 L), then the last 8,000 L
    for qty, unit, on, left in (("12", "m**3", "2026-08-01", 8000), ("8000", "L", "2026-09-01", 0)):
        done = world.json("settle", "return", rik["number"], "--by", "ph-fin",
                          "--quantity", qty, "--unit", unit, "--stock-number", DIESEL[2],
                          "--description", "F-76 from PN stock, same NSN", "--on", on)
        assert Decimal(done["claim"]["outstanding_quantity"]) == left
        view = world.json("orders", "show", number)
        # the same claim reads the same in every command's JSON
        assert claim(view, rik["number"]) == done["claim"]
        assert view["state"] == ("received" if left else "settled")
        rows = balances(world, on)
        assert owed(rows, "JP", "rik") == left * 1000
    assert rows == []

    assert claim(view, rik["number"])["state"] == "settled"
    assert world.json("orders", "close", number, "--by", "jp-fin",
                      "--on", "2026-09-02")["state"] == "closed"


def test_equal_value_exchange_partly_valued_in_pesos(world: Cli, tmp_path: Path) -> None:
    report, _ = document(tmp_path, "airlift-mission-report-0806.pdf")
    lines = tmp_path / "airlift.json"
    lines.write_text(json.dumps([{
        "category": "transportation", "description": "C-130H airlift Mactan-Tacloban, hours",
        "qty": "4", "unit": "h", "price": "1000000", "method": "eve"}]))
    view = world.json("orders", "create", "--agreement", "PHJP", "--activity", "HADR-CEBU",
                      "--by", "ph-req", "--on", "2026-08-05", "--from-json", lines,
                      "--delivery-place", "Mactan Air Base", "--delivery-on", "2026-08-06",
                      "--fund-citation", "PAF FY2026 MOOE 101-2026-0805",
                      "--requester-poc", "Maj Garcia", "--requesting-unit", "PN-NFSL")
    number = view["number"]
    assert view["lines"][0]["kind"] == "service" and view["total"] == "4,000,000 JPY"
    view = through(world, number, "PH", on="2026-08-05", until="received", doc=report)
    [eve] = view["claims"]
    assert (eve["method"], eve["amount"], eve["debtor"]) == ("eve", "4,000,000 JPY", "PH")
    assert owed(balances(world, "2026-08-07"), "JP", "eve") == 4_000_000

    # 2,000,000 JPY of PAF airlift, then 748,800 PHP = 2,000,000 JPY at the FY rate 0.3744
    for value, on, left in (("2000000 JPY", "2026-09-10", "2,000,000 JPY"),
                            ("748800 PHP", "2026-09-12", "0 JPY")):
        done = world.json("settle", "exchange", eve["number"], "--by", "ph-sup",
                          "--value", value, "--category", "transportation",
                          "--description", "PAF C-130 airlift Mactan-Naha, JSDF cargo",
                          "--on", on)
        assert done["claim"]["outstanding"] == left
        view = world.json("orders", "show", number)
        assert claim(view, eve["number"])["outstanding"] == left
        rows = balances(world, on)
        assert owed(rows, "JP", "eve") == minor(left)
    assert rows == [] and view["state"] == "settled"
    assert world.json("orders", "close", number, "--by", "jp-fin",
                      "--on", "2026-09-15")["state"] == "closed"


def test_offset_proposed_by_one_party_approved_by_the_other(world: Cli, tmp_path: Path) -> None:
    doc, _ = document(tmp_path, "issue-slip.pdf")
    food = order_to(world, "JP", line("food", "Fresh provisions", "1000", "kg", "210", "cash",
                                      "8915-00-000-0002"),
                    on="2026-06-01", until="received", doc=doc)
    parts = order_to(world, "PH", line("spare_parts", "Fuel filter element", "10", "each",
                                       "38000", "cash", "2940-21-912-3456"),
                     on="2026-06-01", until="received", doc=doc)
    [ph_bill], [jp_bill] = food["claims"], parts["claims"]
    assert (ph_bill["amount"], jp_bill["amount"]) == ("210,000.00 PHP", "380,000 JPY")
    rows = balances(world, "2026-06-10")
    assert (owed(rows, "PH", "cash"), owed(rows, "JP", "cash")) == (21_000_000, 380_000)

    proposed = world.json("settle", "offset", "--agreement", "PHJP", "--by", "jp-fin",
                          "--on", "2026-06-10", "--note", "June netting")
    assert (proposed["state"], proposed["proposing_party"], proposed["approving_party"]) == (
        "proposed", "JP", "PH")
    assert proposed["amount"] == "380,000 JPY"  # the smaller side, in the proposer's currency
    # nothing moves until the other party approves; the proposer's party cannot approve
    assert balances(world, "2026-06-10") == rows
    refused = world.refused("settle", "offset", "--approve", proposed["number"],
                            "--by", "jp-fin", "--on", "2026-06-11", code=7)
    assert "jp-fin" in refused.first_err_line

    approved = world.json("settle", "offset", "--approve", proposed["number"], "--by", "ph-fin",
                          "--on", "2026-06-11")
    assert approved["state"] == "approved"
    rows = balances(world, "2026-06-11")
    # 380,000 JPY = 142,272.00 PHP at 0.3744: 67,728.00 PHP left owed to PH
    assert (owed(rows, "PH", "cash"), owed(rows, "JP", "cash")) == (6_772_800, 0)
    parts = world.json("orders", "show", parts["number"])
    assert (parts["state"], parts["claims"][0]["state"]) == ("settled", "settled")
    food = world.json("orders", "show", food["number"])
    assert (food["state"], food["claims"][0]["outstanding"]) == ("received", "67,728.00 PHP")


def test_deadline_converts_an_unreturned_rik_into_cash(world: Cli, tmp_path: Path) -> None:
    doc, _ = document(tmp_path, "lube-issue.pdf")
    view = order_to(world, "PH", line("fuel", "Lubricating oil OE/HDO-40", "500", "L", "800",
                                      "rik", "9150-00-111-2222"),
                    on="2026-06-01", until="received", doc=doc)
    number, [rik] = view["number"], view["claims"]
    assert rik["due_on"] == "2027-06-03"  # 12 months from delivery

    early = world.json("deadlines", "--as-of", "2027-05-10")
    assert early["converted"] == [] and early["newly_overdue"] == []
    assert rik["number"] in [d["claim"] for d in early["due_soon"]]

    run = world.json("deadlines", "--as-of", day("2026-06-03", 395))  # 13 months on
    assert run["newly_overdue"] == [rik["number"]]
    [conversion] = run["converted"]
    assert conversion["claim"] == rik["number"]
    view = world.json("orders", "show", number)
    assert view["overdue"] is True and view["state"] == "received"
    old, cash = claim(view, rik["number"]), claim(view, conversion["cash_claim"])
    assert (old["state"], old["overdue"]) == ("converted", True)
    assert (cash["method"], cash["amount"], cash["debtor"]) == ("cash", "400,000 JPY", "PH")
    assert cash["state"] == "open"
    rows = balances(world, "2027-07-03")
    assert (owed(rows, "JP", "rik"), owed(rows, "JP", "cash")) == (0, 400_000)
    overdue = world.json("orders", "list", "--overdue")
    assert [o["number"] for o in overdue] == [number]

