"""`acsa agreements|parties|units|officials|activities|rates|audit|db ...`: reference data,
the rate table, the audit chain and the database."""

from __future__ import annotations

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acsa import config, errors, money
from acsa.agreements import service as agreements
from acsa.agreements.domain import CATEGORY_LABELS
from acsa.audit import service as audit
from acsa.cli.common import STATE, JsonOpt, emit, err, fail, out, parse_date, run, table
from acsa.db import migrate
from acsa.db.engine import get_engine
from acsa.errors import IntegrityError
from acsa.parties import service as parties
from acsa.parties.models import Official

# The activity and rate services are imported inside their commands: every `acsa` command
# loads this module to list its commands.

agreements_app = typer.Typer(help="The agreements, loaded from data files.",
                             no_args_is_help=True)
parties_app = typer.Typer(help="The parties (nations' forces).", no_args_is_help=True)
units_app = typer.Typer(help="Units of each party.", no_args_is_help=True)
officials_app = typer.Typer(help="Authorised officials and their delegated limits.",
                            no_args_is_help=True)
activities_app = typer.Typer(help="Exercises and missions orders are placed under.",
                             no_args_is_help=True)
rates_app = typer.Typer(help="The exchange-rate table.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)


# --- agreements ----------------------------------------------------------------------------
@agreements_app.command("list")
def agreements_list(as_json: bool = JsonOpt) -> None:
    """Every loaded agreement with its in-force status."""
    def go(s: Session) -> None:
        today = parse_date(None, "on")
        data = []
        for row, a in agreements.list_agreements(s):
            try:
                a.check_in_force(today)
                status = "in force"
            except Exception as e:  # noqa: BLE001 - the named error's message is the status
                status = str(e)
            data.append({"code": a.code, "version": a.version, "short_name": a.short_name,
                         "parties": a.parties, "signed_on": a.signed_on.isoformat(),
                         "in_force_on": a.in_force_on.isoformat() if a.in_force_on else None,
                         "status": status, "source": row.source})
        emit(data, as_json, lambda: table(
            "Agreements", ["code", "version", "name", "parties", "signed", "in force from",
                           "status"],
            [[d["code"], d["version"], d["short_name"], "-".join(d["parties"]), d["signed_on"],
              d["in_force_on"] or "unknown", d["status"]] for d in data]))
    run(go, as_json=as_json)


@agreements_app.command("show")
def agreements_show(code: str, as_json: bool = JsonOpt) -> None:
    """An agreement's terms, categories, rules and which values are unconfirmed."""
    def go(s: Session) -> None:
        a = agreements.get(s, code)
        data = a.model_dump(mode="json")

        def render() -> None:
            out.print(f"[bold]{a.code}[/] v{a.version} — {a.title}")
            out.print(f"  parties {' and '.join(a.parties)}; signed {a.signed_on}; in force "
                      f"{a.in_force_on or 'UNKNOWN (orders refused)'}; ends {a.end_on() or '-'}")
            out.print(f"  activities: {', '.join(a.activity_types)}")
            out.print("  categories: " + ", ".join(CATEGORY_LABELS[c] for c in a.categories))
            out.print(f"  ammunition: {'allowed for ' + ', '.join(a.ammunition.activity_types) if a.ammunition.allowed else 'excluded'}")  # noqa: E501
            st = a.settlement
            out.print(f"  settlement: supplies {'/'.join(st.supply_methods)}, services "
                      f"{'/'.join(st.service_methods)}; within {st.deadline_months} months of "
                      f"delivery; cash bills due in {st.days_to_pay} days; offset "
                      f"{st.offset}{f' after {st.offset_after_months} months' if st.offset_after_months else ''};"  # noqa: E501
                      f" overdue in-kind: {st.overdue_in_kind}")
            out.print(f"  rates: {a.rates.policy}"
                      f"{f' ({a.rates.fiscal_year_party} fiscal year)' if a.rates.fiscal_year_party else ''}")  # noqa: E501
            for p, fy in a.fiscal_years.items():
                out.print(f"  fiscal year {p}: starts {fy.start}, named by its {fy.named_by} year")
            for c in a.ceilings:
                out.print(f"  ceiling on {c.party} acquisitions per FY: total {c.total or '-'}, "
                          f"supplies {c.supplies or '-'}, services {c.services or '-'} "
                          f"{c.currency} (warn at {c.warn_at_percent}%)")
            if a.unconfirmed:
                out.print(f"  [yellow]unconfirmed[/]: {', '.join(a.unconfirmed)}")
        emit(data, as_json, render)
    run(go, as_json=as_json)


@agreements_app.command("load")
def agreements_load(as_json: bool = JsonOpt) -> None:
    """Validate the bundled files and those in the agreements folder, and load what changed."""
    def go(s: Session) -> None:
        parties.ensure_parties(s)
        result = agreements.load(s)
        data = [{"code": c, "result": r} for c, r in result]
        emit(data, as_json, lambda: [out.print(f"{c}: {r}") for c, r in result])
        if not as_json:
            out.print(f"(agreement files folder: {config.agreements_dir()})")
    run(go, as_json=as_json)


# --- parties, units, officials -------------------------------------------------------------
@parties_app.command("list")
def parties_list(as_json: bool = JsonOpt) -> None:
    """The parties and their currencies."""
    def go(s: Session) -> None:
        data = [{"code": p.code, "name": p.name, "force": p.force, "currency": p.currency}
                for p in parties.list_parties(s)]
        emit(data, as_json, lambda: table("Parties", ["code", "name", "force", "currency"],
                                          [list(d.values()) for d in data]))
    run(go, as_json=as_json)


@units_app.command("add")
def units_add(code: str, party: str = typer.Option(...), name: str = typer.Option(...),
              address: str = typer.Option("", help="Billing address."),
              as_json: bool = JsonOpt) -> None:
    """Add a unit of a party."""
    def go(s: Session) -> None:
        u = parties.add_unit(s, code=code, party=party, name=name, address=address)
        emit({"code": u.code, "party": u.party_code}, as_json,
             lambda: out.print(f"unit {u.code} of {u.party_code} added"))
    run(go, as_json=as_json)


@units_app.command("list")
def units_list(party: str | None = None, as_json: bool = JsonOpt) -> None:
    """Units, by party."""
    def go(s: Session) -> None:
        data = [{"code": u.code, "party": u.party_code, "name": u.name, "address": u.address}
                for u in parties.list_units(s, party)]
        emit(data, as_json, lambda: table("Units", ["code", "party", "name", "address"],
                                          [list(d.values()) for d in data]))
    run(go, as_json=as_json)


@officials_app.command("add")
def officials_add(
    code: str = typer.Argument(..., help="Short code used with --by, e.g. jp-sato."),
    name: str = typer.Option(...), party: str = typer.Option(...),
    role: str = typer.Option(..., help="requesting, approving, supplying, receiving, finance, "
                             "auditor"),
    valid_from: str = typer.Option(..., help="Start of the delegated authority."),
    valid_to: str | None = typer.Option(None, help="End of the delegated authority."),
    limit: str | None = typer.Option(None, help="Delegated value limit, e.g. '5000000 PHP'."),
    unit: str | None = None,
    person: str | None = typer.Option(None, help="Person identifier shared by one person's "
                                      "official records (for separation of duties)."),
    rank_title: str = "", email: str = "", as_json: bool = JsonOpt,
) -> None:
    """Add an authorised official."""
    from acsa.cli.common import parse_money

    def go(s: Session) -> None:
        o = parties.add_official(
            s, code=code, name=name, party=party, role=role,
            valid_from=parse_date(valid_from, "valid_from"),
            valid_to=parse_date(valid_to, "valid_to") if valid_to else None,
            limit=parse_money(limit, "limit") if limit else None, unit=unit, person=person,
            rank_title=rank_title, email=email)
        emit({"code": o.code, "party": o.party_code, "role": o.role}, as_json,
             lambda: out.print(f"official {o.code} ({o.role}, {o.party_code}) added"))
    run(go, as_json=as_json)


@officials_app.command("change")
def officials_change(
    code: str = typer.Argument(..., help="The official's code."),
    limit: str | None = typer.Option(None, help="New delegated value limit, e.g. "
                                     "'2000000 PHP'."),
    no_limit: bool = typer.Option(False, "--no-limit", help="Remove the value limit."),
    valid_from: str | None = typer.Option(None, help="New start of the authority."),
    valid_to: str | None = typer.Option(None, help="New end of the authority (last valid "
                                        "day)."),
    open_ended: bool = typer.Option(False, "--open-ended", help="Remove the end of the "
                                    "authority."),
    unit: str | None = typer.Option(None, help="New unit (of the official's party)."),
    no_unit: bool = typer.Option(False, "--no-unit", help="Attach the official to no unit."),
    as_json: bool = JsonOpt,
) -> None:
    """Change an official's delegated limit, validity or unit, from now on (what they already
    signed stays valid). On a party's node, only that party's officials; the change is sent
    to every partner as `official.changed`. The role is not changeable: add an official."""
    from acsa.cli.common import parse_money
    from acsa.sync import node

    for flag, value, other in (("--no-limit", no_limit, limit), ("--open-ended", open_ended,
                                                                 valid_to),
                               ("--no-unit", no_unit, unit)):
        if value and other is not None:
            fail(errors.InvalidInput(f"{flag} and a value for it at once",
                                     field=flag.removeprefix("--no-").removeprefix("--")),
                 as_json)
    kw: dict[str, object] = {}
    if limit is not None or no_limit:
        kw["limit"] = None if no_limit else limit
    if valid_from is not None:
        kw["valid_from"] = valid_from
    if valid_to is not None or open_ended:
        kw["valid_to"] = None if open_ended else valid_to
    if unit is not None or no_unit:
        kw["unit"] = None if no_unit else unit

    def go(s: Session) -> None:
        if isinstance(kw.get("limit"), str):
            kw["limit"] = parse_money(str(kw["limit"]), "limit")
        for name in ("valid_from", "valid_to"):
            if isinstance(kw.get(name), str):
                kw[name] = parse_date(str(kw[name]), name)
        before = parties.official_terms(s, parties.get_official(s, code)) \
            if _exists(s, code) else None
        o = parties.change_official(s, code=code, by_party=node.own_party(s), **kw)
        _report(s, o, before, as_json)
    run(go, as_json=as_json)


@officials_app.command("deactivate")
def officials_deactivate(
    code: str = typer.Argument(..., help="The official's code."),
    on: str = typer.Option(..., "--on", help="The last day of their authority."),
    as_json: bool = JsonOpt,
) -> None:
    """End an official's authority after a date (it only shortens the validity); what they
    signed up to then stays valid. Sent to every partner as `official.changed`."""
    from acsa.sync import node

    def go(s: Session) -> None:
        before = parties.official_terms(s, parties.get_official(s, code)) \
            if _exists(s, code) else None
        o = parties.deactivate_official(s, code=code, on=parse_date(on, "on"),
                                        by_party=node.own_party(s))
        _report(s, o, before, as_json)
    run(go, as_json=as_json)


def _exists(s: Session, code: str) -> bool:
    try:
        parties.get_official(s, code)
    except errors.NotFound:
        return False
    return True


def _report(s: Session, o: Official, before: dict[str, object] | None,
            as_json: bool) -> None:
    after = parties.official_terms(s, o)
    changed = [k for k in parties.CHANGEABLE if before and before[k] != after[k]]
    data = {"code": o.code, "party": o.party_code, "role": o.role, "before": before,
            "after": after, "changed": changed}

    def render() -> None:
        out.print(f"official {data['code']} ({data['role']}, {data['party']}) changed:",
                  highlight=False)
        for k in changed:
            out.print(f"  {k}: {before[k] if before else None} -> {after[k]}", highlight=False)
    emit(data, as_json, render)


@officials_app.command("list")
def officials_list(party: str | None = None, role: str | None = None,
                   as_json: bool = JsonOpt) -> None:
    """Officials with their roles, limits and validity."""
    def go(s: Session) -> None:
        data = [{"code": o.code, "name": o.name, "person": o.person, "party": o.party_code,
                 "role": o.role,
                 "limit": str(money.Money(o.limit_minor, o.limit_currency))
                 if o.limit_minor is not None and o.limit_currency else None,
                 "valid_from": o.valid_from.isoformat(),
                 "valid_to": o.valid_to.isoformat() if o.valid_to else None}
                for o in parties.list_officials(s, party, role)]
        emit(data, as_json, lambda: table(
            "Officials", ["code", "name", "party", "role", "limit", "valid from", "valid to"],
            [[d["code"], d["name"], d["party"], d["role"], d["limit"] or "-", d["valid_from"],
              d["valid_to"] or "-"] for d in data]))
    run(go, as_json=as_json)


# --- activities ----------------------------------------------------------------------------
@activities_app.command("add")
def activities_add(
    code: str, name: str = typer.Option(...),
    type: str = typer.Option(..., "--type", help="exercise, training, peacekeeping, hadr, "
                             "disaster_response, evacuation, liaison, other"),
    place: str = typer.Option(...), starts_on: str = typer.Option(...),
    ends_on: str = typer.Option(...),
    agreement: list[str] = typer.Option(..., "--agreement", help="Repeatable."),
    as_json: bool = JsonOpt,
) -> None:
    """Register an exercise or mission under one or more agreements."""
    from acsa.activities import service as activities

    def go(s: Session) -> None:
        a = activities.add_activity(s, code=code, name=name, type=type, place=place,
                                    starts_on=parse_date(starts_on, "starts_on"),
                                    ends_on=parse_date(ends_on, "ends_on"),
                                    agreement_codes=[x.upper() for x in agreement])
        emit({"code": a.code}, as_json, lambda: out.print(f"activity {a.code} added"))
    run(go, as_json=as_json)


@activities_app.command("list")
def activities_list(as_json: bool = JsonOpt) -> None:
    """Activities with their dates, place and agreements."""
    from acsa.activities import service as activities

    def go(s: Session) -> None:
        data = [{"code": a.code, "name": a.name, "type": a.type, "place": a.place,
                 "starts_on": a.starts_on.isoformat(), "ends_on": a.ends_on.isoformat(),
                 "agreements": sorted(x.code for x in a.agreements)}
                for a in activities.list_activities(s)]
        emit(data, as_json, lambda: table(
            "Activities", ["code", "name", "type", "place", "from", "to", "agreements"],
            [[d["code"], d["name"], d["type"], d["place"], d["starts_on"], d["ends_on"],
              ", ".join(d["agreements"])] for d in data]))
    run(go, as_json=as_json)


# --- rates ---------------------------------------------------------------------------------
@rates_app.command("add")
def rates_add(base: str, quote: str, rate: str = typer.Argument(..., help="Units of QUOTE per "
                                                                   "one BASE."),
              on: str | None = typer.Option(None, help="Effective date."),
              source: str = typer.Option(..., help="Where the rate comes from."),
              kind: str = typer.Option("market", help="market or agreement_fy"),
              agreement: str | None = typer.Option(None, help="For agreement_fy rates."),
              as_json: bool = JsonOpt) -> None:
    """Record an exchange rate (a fixed fiscal-year rate of an agreement, or a market rate)."""
    from acsa.rates import service as rates

    def go(s: Session) -> None:
        r = rates.add_rate(s, base=base, quote=quote, rate=rate, on=parse_date(on, "on"),
                           source=source, kind=kind,
                           agreement=agreements.get(s, agreement) if agreement else None)
        emit({"id": r.id, "base": r.base, "quote": r.quote, "rate": r.rate,
              "effective_on": r.effective_on.isoformat(), "kind": r.kind,
              "fiscal_year": r.fiscal_year}, as_json,
             lambda: out.print(f"rate {r.base}/{r.quote} {r.rate} from {r.effective_on} "
                               f"({r.kind}{f', FY{r.fiscal_year}' if r.fiscal_year else ''})"))
    run(go, as_json=as_json)


@rates_app.command("list")
def rates_list(currency: str | None = None, as_json: bool = JsonOpt) -> None:
    """The rate table."""
    from acsa.rates import service as rates

    def go(s: Session) -> None:
        data = [{"id": r.id, "base": r.base, "quote": r.quote, "rate": r.rate,
                 "effective_on": r.effective_on.isoformat(), "kind": r.kind,
                 "agreement": r.agreement_code, "fiscal_year": r.fiscal_year,
                 "source": r.source} for r in rates.list_rates(s, currency)]
        emit(data, as_json, lambda: table(
            "Exchange rates", ["pair", "rate", "from", "kind", "agreement", "FY", "source"],
            [[f"{d['base']}/{d['quote']}", d["rate"], d["effective_on"], d["kind"],
              d["agreement"] or "-", d["fiscal_year"] or "-", d["source"]] for d in data]))
    run(go, as_json=as_json)


# --- audit ---------------------------------------------------------------------------------
@audit_app.command("verify")
def audit_verify(as_json: bool = JsonOpt) -> None:
    """Recompute the whole hash chain; name the first broken link."""
    def go(s: Session) -> audit.Verification:
        return audit.verify(s)
    result = run(go, as_json=as_json)
    data = {"ok": result.ok, "events": result.events, "head": result.head,
            "broken_at": result.broken_at, "reason": result.reason}
    if result.ok:
        emit(data, as_json, lambda: out.print(
            f"audit chain intact: {result.events} events, head {result.head}"))
        return
    fail(IntegrityError(f"audit chain broken at event {result.broken_at}: {result.reason}",
                        hint="Restore the database from a backup and compare; the events from "
                        "this one on cannot be trusted.", broken_at=result.broken_at),
         as_json)


@audit_app.command("log")
def audit_log(subject: str = typer.Argument(..., help="An order number, or e.g. "
                                            "agreement:PHJP."), as_json: bool = JsonOpt) -> None:
    """The events of one order (or other subject), oldest first."""
    def go(s: Session) -> None:
        data = [{"seq": e.seq, "at": e.at, "party": e.party, "actor": e.actor,
                 "action": e.action, "order_hash": e.order_hash, "hash": e.hash}
                for e in audit.history(s, subject)]
        emit(data, as_json, lambda: table(
            f"Events of {subject}", ["seq", "at", "party", "actor", "action", "hash"],
            [[d["seq"], d["at"], d["party"], d["actor"], d["action"], d["hash"][:16]]
             for d in data]))
    run(go, as_json=as_json)


# --- database ------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply the schema migrations (Alembic) up to REVISION (default: head)."""
    engine = get_engine(STATE.db)
    migrate.upgrade(engine, revision)
    out.print(f"database at revision {migrate.current(engine)} ({engine.url.render_as_string()})")
    if revision == "head":
        _prepare_reconciliations(engine)


def _prepare_reconciliations(engine: Engine) -> None:
    """A party's node caches its reconciliation summaries with each registered partner, so the
    first reconciliation after an upgrade starts warm; a failure is a warning only."""
    import datetime as dt

    from acsa.sync import reconcile

    try:
        done = reconcile.prepare_partners(engine, as_of=dt.datetime.now(dt.UTC).date())
    except Exception as e:  # noqa: BLE001 (the upgrade itself has committed)
        err.print(f"warning: the reconciliation summaries were not cached: "
                  f"{getattr(e, 'message', None) or e}", highlight=False)
        return
    for partner, codes in done.items():
        if codes:
            out.print(f"reconciliation summary cached: {', '.join(codes)} (with {partner})",
                      highlight=False)


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION ('base' empties the schema)."""
    engine = get_engine(STATE.db)
    migrate.downgrade(engine, revision)
    err.print(f"database at revision {migrate.current(engine) or 'base'}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database."""
    engine = get_engine(STATE.db)
    out.print(f"{migrate.current(engine) or 'empty'} (head is {migrate.head(engine)})")
