"""`acsa settle ...`, `acsa claims list` and `acsa deadlines`: discharging what is owed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from acsa import money
from acsa.cli.common import JsonOpt, emit, out, parse_date, parse_decimal, parse_money, run, table

if TYPE_CHECKING:
    from acsa.settlement.models import Offset, SettlementRecord

# The settlement services and tables are imported inside the commands: every `acsa` command
# loads this module to list its commands.

app = typer.Typer(help="Settle claims: pay a bill, return in kind, exchange a service of "
                  "equal value, or offset what the two parties owe each other.",
                  no_args_is_help=True)
claims_app = typer.Typer(help="Bills and in-kind obligations.", no_args_is_help=True)

By = typer.Option(..., "--by", help="Code of the official acting.")
On = typer.Option(None, "--on", help="Date, YYYY-MM-DD (default: today).")
ClaimArg = typer.Argument(..., help="A claim number, or an order number with one open claim "
                          "of that kind.")


def _record_done(s: Session, rec: SettlementRecord, as_json: bool) -> None:
    from acsa.settlement import service
    from acsa.settlement.models import Claim

    claim = s.get(Claim, rec.claim_id)
    assert claim is not None
    data = {"settlement_id": rec.id, "kind": rec.kind, "claim": service.claim_view(claim)}
    emit(data, as_json, lambda: out.print(
        f"{claim.number}: {rec.kind} recorded; outstanding "
        f"{data['claim']['outstanding_quantity'] or data['claim']['outstanding']}"
        f"{' ' + (claim.unit or '') if claim.method == 'rik' else ''}; claim {claim.state}"))


@app.command("pay")
def pay(claim: str = ClaimArg, by: str = By,
        amount: str = typer.Option(..., help="Amount paid, e.g. '4679500 PHP' (another "
                                   "currency is converted at the agreement's rate; without a "
                                   "currency, the bill's)."),
        reference: str = typer.Option("", help="Payment reference (transfer number)."),
        on: str | None = On, as_json: bool = JsonOpt) -> None:
    """Record a cash payment (the debtor's finance official); partial payments allowed."""
    from acsa.settlement import service

    def go(s: Session) -> None:
        currency = service.get_claim(s, claim, "cash").currency  # an amount alone is in it
        _record_done(s, service.pay(
            s, claim_ref=claim, by=by, on=parse_date(on, "on"),
            amount=parse_money(amount, "amount", currency), reference=reference), as_json)
    run(go, as_json=as_json)


@app.command("return")
def return_(claim: str = ClaimArg, by: str = By,
            quantity: str = typer.Option(..., help="Quantity returned."),
            unit: str = typer.Option(..., help="Its unit (converted to the claim's unit)."),
            stock_number: str = typer.Option("", help="Stock number of the item returned."),
            category: str = typer.Option("", help="Category, when the claim has no stock no."),
            description: str = typer.Option("", help="What was returned."),
            on: str | None = On, as_json: bool = JsonOpt) -> None:
    """Record a return in kind (RIK): the same item or type, partial returns allowed."""
    from acsa.settlement import service

    run(lambda s: _record_done(s, service.return_in_kind(
        s, claim_ref=claim, by=by, on=parse_date(on, "on"),
        quantity=parse_decimal(quantity, "quantity"), unit=unit, stock_number=stock_number,
        category=category, description=description), as_json), as_json=as_json)


@app.command("exchange")
def exchange(claim: str = ClaimArg, by: str = By,
             value: str = typer.Option(..., help="Value of the service given, '1200000 JPY'."),
             category: str = typer.Option(..., help="Category of the service given (must match)."),
             description: str = typer.Option(..., help="The service given in exchange."),
             on: str | None = On, as_json: bool = JsonOpt) -> None:
    """Record an equal-value exchange (EVE): a service of the same type in return."""
    from acsa.settlement import service

    run(lambda s: _record_done(s, service.exchange(
        s, claim_ref=claim, by=by, on=parse_date(on, "on"), value=parse_money(value, "value"),
        category=category, description=description), as_json), as_json=as_json)


def _offset_view(s: Session, o: Offset) -> dict[str, object]:
    from acsa.settlement.models import Claim

    return {"number": o.number, "agreement": o.agreement_code, "state": o.state,
            "proposing_party": o.proposing_party, "approving_party": o.approving_party,
            "amount": str(money.Money(o.amount_minor, o.currency)),
            "offset_on": o.offset_on.isoformat(),
            "items": [{"claim": claim.number, "applied": str(money.Money(i.applied_minor,
                                                                          claim.currency)),
                       "value": str(money.Money(i.value_minor, o.currency)), "rate": i.rate}
                      for i in o.items for claim in [s.get(Claim, i.claim_id)] if claim]}


@app.command("offset")
def offset(by: str = By,
           agreement: str | None = typer.Option(None, help="Propose an offset under this "
                                                "agreement."),
           approve: str | None = typer.Option(None, help="Approve this proposed offset."),
           withdraw: str | None = typer.Option(
               None, help="Withdraw this offset your party proposed, before it is approved "
               "(needs --reason)."),
           reason: str = typer.Option("", help="Why the offset is withdrawn (with --withdraw)."),
           currency: str | None = typer.Option(None, help="Currency of the netting document."),
           note: str = "", on: str | None = On, as_json: bool = JsonOpt) -> None:
    """Offset (net) open cash claims both ways: one party proposes, the other approves; the
    proposing party may withdraw its proposal until then. While an offset awaits approval,
    the claims it names cannot be paid or settled another way."""
    from acsa.settlement import service

    def go(s: Session) -> None:
        if sum(x is not None for x in (agreement, approve, withdraw)) > 1:
            raise typer.BadParameter("give one of --agreement, --approve or --withdraw")
        if withdraw:
            o = service.withdraw_offset(s, number=withdraw, by=by, on=parse_date(on, "on"),
                                        reason=reason)
        elif approve:
            o = service.approve_offset(s, number=approve, by=by, on=parse_date(on, "on"))
        elif agreement:
            o = service.propose_offset(s, agreement_code=agreement, by=by,
                                       on=parse_date(on, "on"), currency=currency, note=note)
        else:
            raise typer.BadParameter("give --agreement CODE to propose, --approve NUMBER or "
                                     "--withdraw NUMBER --reason TEXT")
        data = _offset_view(s, o)
        emit(data, as_json, lambda: out.print(
            f"offset {o.number} {o.state}: {data['amount']} between {o.proposing_party} and "
            f"{o.approving_party}" + (f"; {o.approving_party} must approve it with `acsa "
                                      f"settle offset --approve {o.number} --by ...`"
                                      if o.state == "proposed" else "")))
    run(go, as_json=as_json)


@claims_app.command("list")
def claims_list(state: str | None = typer.Option(None, help="open, settled, converted"),
                agreement: str | None = None, debtor: str | None = None,
                overdue: bool = typer.Option(False, "--overdue"), as_json: bool = JsonOpt) -> None:
    """Bills and in-kind obligations, oldest due first."""
    from acsa.settlement import service
    from acsa.settlement.models import Claim

    def go(s: Session) -> None:
        stmt = select(Claim).order_by(Claim.due_on, Claim.id)
        if state:
            stmt = stmt.where(Claim.state == state)
        if agreement:
            stmt = stmt.where(Claim.agreement_code == agreement.upper())
        if debtor:
            stmt = stmt.where(Claim.debtor_party == debtor.upper())
        if overdue:
            stmt = stmt.where(Claim.overdue.is_(True))
        data = [service.claim_view(c) for c in s.scalars(stmt)]
        emit(data, as_json, lambda: table(
            f"Claims ({len(data)})", ["claim", "method", "creditor", "debtor", "outstanding",
                                      "due", "state"],
            [[c["number"], c["method"], c["creditor"], c["debtor"],
              f"{c['outstanding_quantity']} {c['unit']}" if c["method"] == "rik"
              else c["outstanding"], c["due_on"],
              c["state"] + (" OVERDUE" if c["overdue"] else "")] for c in data]))
    run(go, as_json=as_json)


def deadlines(as_of: str = typer.Option(..., "--as-of", help="Run the deadlines as of this "
                                        "date, YYYY-MM-DD."),
              soon_days: int = typer.Option(30, help="Also list claims due within N days."),
              as_json: bool = JsonOpt) -> None:
    """Mark claims past their deadline overdue and apply each agreement's conversion rule
    (an overdue return in kind becomes a cash debt, recorded with its rate and dated the day
    after its deadline, whatever day the run is made, so every node derives the same one)."""
    from acsa.settlement import service

    def go(s: Session) -> None:
        result = service.run_deadlines(s, as_of=parse_date(as_of, "as_of"), soon_days=soon_days)
        data = {"as_of": as_of, "newly_overdue": result.newly_overdue,
                "converted": [{"claim": a, "cash_claim": b} for a, b in result.converted],
                "due_soon": [{"claim": a, "due_on": b.isoformat()} for a, b in result.due_soon],
                "offset_eligible": result.offset_eligible}

        def render() -> None:
            out.print(f"deadlines as of {as_of}: {len(result.newly_overdue)} newly overdue, "
                      f"{len(result.converted)} converted to cash, {len(result.due_soon)} due "
                      f"within {soon_days} days")
            for c in result.newly_overdue:
                out.print(f"  [red]overdue[/]: {c}")
            for a, b in result.converted:
                out.print(f"  converted: {a} -> cash claim {b}")
            for a, d in result.due_soon:
                out.print(f"  due soon: {a} on {d}")
            for c in result.offset_eligible:
                out.print(f"  may be offset (past the agreement's offset period): {c}")
        emit(data, as_json, render)
    run(go, as_json=as_json)
