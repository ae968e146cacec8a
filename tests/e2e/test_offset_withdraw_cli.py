"""`acsa settle offset --withdraw NUMBER --reason TEXT`: the proposing party's finance official
withdraws a proposed offset; every refusal (the other party, a reason missing, an offset no
longer awaiting approval, a payment of a claim the proposal names) exits non-zero with the
named error and changes nothing. Real `acsa` processes, SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Cli
from tests.e2e.helpers import balances, check_refusal, document, line, order_to


def test_the_proposer_withdraws_an_offset_with_the_cli(world: Cli, tmp_path: Path) -> None:
    doc, _ = document(tmp_path, "issue-slip.pdf")
    food = order_to(world, "JP", line("food", "Fresh provisions", "1000", "kg", "210", "cash",
                                      "8915-00-000-0002"),
                    on="2026-06-01", until="received", doc=doc)
    parts = order_to(world, "PH", line("spare_parts", "Fuel filter element", "10", "each",
                                       "38000", "cash", "2940-21-912-3456"),
                     on="2026-06-01", until="received", doc=doc)
    [jp_owes] = food["claims"]
    proposed = world.json("settle", "offset", "--agreement", "PHJP", "--by", "jp-fin",
                          "--on", "2026-06-10")
    number = proposed["number"]
    rows = balances(world, "2026-06-10")

    # while it awaits approval, JP's bill in it cannot be paid
    pay = ("settle", "pay", jp_owes["number"], "--by", "jp-fin", "--amount", "1000 PHP",
           "--on", "2026-06-10")
    assert check_refusal(world, pay, code=6, error="ClaimInProposedOffset",
                         fragment=f"named in offset {number}") == []
    hint = world.run(*pay).err
    assert f"acsa settle offset --withdraw {number}" in hint
    # only JP's finance official withdraws it, and only with a reason
    withdraw = ("settle", "offset", "--withdraw", number, "--on", "2026-06-11")
    assert check_refusal(world, (*withdraw, "--by", "ph-fin", "--reason", "not ours"), code=7,
                         error="WrongParty", fragment="ph-fin") == []
    assert check_refusal(world, (*withdraw, "--by", "jp-fin"), code=3, error="InvalidInput",
                         fragment="needs a reason") == []

    done = world.json(*withdraw, "--by", "jp-fin", "--reason", "paying in cash instead")
    assert (done["number"], done["state"]) == (number, "withdrawn")
    assert balances(world, "2026-06-11") == rows  # nothing was netted
    text = world("settle", "offset", "--agreement", "PHJP", "--by", "jp-fin", "--on",
                 "2026-06-12").out
    assert "proposed" in text  # the agreement is free for a new proposal
    world("settle", "offset", "--withdraw", "PHJP-OFS-0002", "--by", "jp-fin", "--reason",
          "again", "--on", "2026-06-12")

    # withdrawn, it cannot be withdrawn again, nor approved; the bill is paid as usual
    assert check_refusal(world, (*withdraw, "--by", "jp-fin", "--reason", "twice"), code=6,
                         error="OffsetNotProposed", fragment=f"offset {number} is withdrawn"
                         ) == []
    assert check_refusal(world, ("settle", "offset", "--approve", number, "--by", "ph-fin",
                                 "--on", "2026-06-11"), code=4, error="SettlementInvalid",
                         fragment="is withdrawn") == []
    paid = world.json(*pay)
    assert paid["claim"]["outstanding"] == "209,000.00 PHP"
    assert world.json("orders", "show", parts["number"])["state"] == "received"
    assert "--withdraw" in world("settle", "offset", "--help").out
