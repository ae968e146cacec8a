"""`acsa init --demo` on an empty database: the register, the statement of balances, the audit
chain, and a second run that adds nothing."""

from __future__ import annotations

from tests.e2e.conftest import Cli

DEMO_TODAY = "2026-11-29"  # the demo story's "today"
ORDER_FIELDS = {"number": str, "agreement": str, "activity": str, "requesting_party": str,
                "supplying_party": str, "order_on": str, "state": str, "overdue": bool,
                "total": str, "total_minor": int, "currency": str, "lines": int, "version": int}


def test_init_demo_loads_the_story_once(cli: Cli) -> None:
    # the database URL from the environment this time (the other tests pass --db)
    first = cli("init", "--demo", env={"ACSA_DATABASE_URL": cli.db})
    assert "Order register (8)" in first.out
    assert "Statement of balances as of 2026-11-29" in first.out
    assert "agree" in first.out and "DIFFER" not in first.out
    assert (cli.home / "agreements" / "demo-phjp-in-force.toml").exists()

    orders = cli.json("orders", "list")
    assert len(orders) == 8
    assert len({o["number"] for o in orders}) == 8
    for o in orders:
        for field, kind in ORDER_FIELDS.items():
            assert isinstance(o[field], kind), (field, o)
        assert o["agreement"] in o["number"]
        assert o["total_minor"] > 0
        assert o["total"].endswith(o["currency"])
    states = {o["number"]: o["state"] for o in orders}
    # the story touches every stage: closed, settled, received (billed), disputed, requested
    assert {"closed", "settled", "received", "disputed", "requested"} <= set(states.values())
    assert any(o["overdue"] for o in orders)

    balance = cli.json("books", "balance", "--as-of", DEMO_TODAY)
    assert balance["balances"], "the demo leaves debts open"
    for row in balance["balances"]:
        assert row["books_agree"] is True, row
        assert row["creditor_book_units"] == row["debtor_book_units"] > 0, row

    audit = cli.json("audit", "verify")
    assert audit["ok"] is True and audit["broken_at"] is None
    assert audit["events"] > 8 * 4  # every order has at least create/request/... events

    second = cli("init", "--demo")
    assert "unchanged" in second.out and "loaded (version" not in second.out
    assert cli.json("orders", "list") == orders
    again = cli.json("audit", "verify")
    assert (again["events"], again["head"]) == (audit["events"], audit["head"])


def test_init_demo_json_is_one_document(sqlite_only: None, cli: Cli) -> None:
    data = cli("init", "--demo", "--json").json()
    assert data["demo"] is True
    assert len(data["orders"]) == 8
