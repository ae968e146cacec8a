"""The read-only registers and reports: claims, activities, agreements, rates, books, audit
and people, plus the audit chain's verification.

Each reads exactly what the API lets the viewer's party read, with the same service calls and
the same scoping (`viewer_party`, the party's own agreements; anything else is 404), and every
list is a page: 25 rows from the database with a count, never the whole history. The books'
figures (`ledger.reports`, `documents.reports_data`) are aggregates over the ledger; they are
computed once and reused while the heads of the ledger and the audit chain stand still
(`web.dashboard._cached`), as on the dashboard.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Numeric, cast, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from acsa import errors
from acsa.activities import service as activities
from acsa.activities.models import Activity, activity_agreements
from acsa.agreements import service as agreements
from acsa.agreements.domain import ACTIVITY_TYPES, CATEGORIES, Agreement
from acsa.api import deps as api_deps
from acsa.api.routes.orders import today
from acsa.audit import service as audit
from acsa.db.base import utcnow
from acsa.documents import reports_data
from acsa.ledger import domain as books
from acsa.ledger import reports
from acsa.orders import service as orders
from acsa.orders.models import Order, OrderLine
from acsa.parties import service as parties
from acsa.parties.models import Unit
from acsa.rates import service as rates
from acsa.settlement import service as settlement
from acsa.users import service as users
from acsa.web import dashboard, deps

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
MOVEMENTS = 50  # statement movements per page
EVENTS_COUNTED = 10_000  # the audit page counts events up to this many, then "more than"
CURRENCIES = ("PHP", "JPY", "USD")
CLAIM_STATES = ("open", "settled", "converted")
METHODS = ("cash", "rik", "eve")


# --- shared --------------------------------------------------------------------------------
def _page_no(request: Request, key: str = "page") -> int:
    try:
        return max(1, min(int(request.query_params.get(key) or 1), 1_000_000))
    except ValueError:
        return 1


def _filters(request: Request, *keys: str) -> dict[str, str]:
    return {k: (request.query_params.get(k) or "").strip()[:60] for k in keys}


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


class Pager:
    """Page `page` of `count` rows at `size` a page, with links that keep the filters."""

    def __init__(self, path: str, filters: dict[str, str], page: int, count: int,
                 size: int = PAGE_SIZE, key: str = "page", count_limit: int | None = None,
                 shown: int | None = None) -> None:
        """`count_limit`: the count was bounded (a count above it means "more than it");
        `shown`: the rows on this page, when the count was bounded."""
        self.more = count_limit is not None and count > count_limit
        if self.more:
            count = count_limit  # type: ignore[assignment]
        self.path, self.page, self.count, self.size, self.key = path, page, count, size, key
        self.base = {k: v for k, v in filters.items() if v}
        self.pages = max(1, math.ceil(count / size))
        if self.more:  # a next page while this one is full
            self.pages = max(self.pages, page + (shown == size))
        self.first = (page - 1) * size + 1 if count else 0
        self.last = min(page * size, count) if shown is None else (page - 1) * size + shown
        self.offset = (page - 1) * size

    def link(self, n: int) -> str:
        return self.path + "?" + urlencode({**self.base, self.key: n})


def _own(s: Session, party: str) -> list[Agreement]:
    return [a for _, a in agreements.list_for_party(s, party)]


def _show(request: Request, template: str, build: Callable[[Session, deps.Page], dict[str, Any]]
          ) -> Response:
    p = deps.page(request)
    with api_deps.transaction(request, read_only=True) as s:
        try:
            context = build(s, p)
        except errors.NotFound as e:
            return deps.respond_error(request, p, e, status=404)
        return deps.render(request, template, {"p": p, **context}, lang=p.lang)


# --- claims --------------------------------------------------------------------------------
@router.get("/claims")
def claims(request: Request) -> Response:
    f = _filters(request, "state", "method", "agreement", "side", "overdue", "order", "sort",
                 "dir")
    f["state"] = f["state"] if f["state"] in CLAIM_STATES else ""
    f["method"] = f["method"] if f["method"] in METHODS else ""
    f["side"] = f["side"] if f["side"] in ("owed_to_us", "we_owe") else ""
    f["sort"] = f["sort"] if f["sort"] in settlement.CLAIM_SORTS else "due_on"
    f["dir"] = f["dir"] if f["dir"] in ("asc", "desc") else "asc"
    page_no = _page_no(request)

    def build(s: Session, p: deps.Page) -> dict[str, Any]:
        party = p.viewer.party
        q = settlement.ClaimQuery(
            state=f["state"] or None, method=f["method"] or None,
            agreement=f["agreement"] or None,
            creditor=party if f["side"] == "owed_to_us" else None,
            debtor=party if f["side"] == "we_owe" else None,
            overdue={"yes": True, "no": False}.get(f["overdue"]), order=f["order"] or None,
            sort=f["sort"], descending=f["dir"] == "desc")
        rows, count = settlement.search_claims(s, q, viewer_party=party,
                                               offset=(page_no - 1) * PAGE_SIZE,
                                               limit=PAGE_SIZE)
        numbers = dict(s.execute(select(Order.id, Order.number).where(
            Order.id.in_({c.order_id for c in rows}))).all()) if rows else {}
        pager = Pager("/claims", f, page_no, count)

        def sort_link(key: str) -> str:
            flip = "desc" if f["sort"] == key and f["dir"] == "asc" else "asc"
            return "/claims?" + urlencode({**pager.base, "sort": key, "dir": flip})
        return {"f": f, "items": [{"c": c, "order": numbers.get(c.order_id, ""),
                                   "left": settlement.outstanding(c)} for c in rows],
                "pg": pager, "agreements": _own(s, party), "states": CLAIM_STATES,
                "methods": METHODS, "sort_link": sort_link}
    return _show(request, "claims.html", build)


# --- activities ----------------------------------------------------------------------------
def _activity_conds(codes: list[str]) -> Any:
    return Activity.id.in_(select(activity_agreements.c.activity_id).where(
        activity_agreements.c.agreement_code.in_(codes)))


@router.get("/activities")
def activity_list(request: Request) -> Response:
    f = _filters(request, "type", "agreement")
    f["type"] = f["type"] if f["type"] in ACTIVITY_TYPES else ""
    page_no = _page_no(request)

    def build(s: Session, p: deps.Page) -> dict[str, Any]:
        own = sorted(a.code for a in _own(s, p.viewer.party))
        codes = [c for c in own if c == f["agreement"].upper()] if f["agreement"] else own
        conds = [_activity_conds(codes)]
        if f["type"]:
            conds.append(Activity.type == f["type"])
        count = s.scalar(select(func.count()).select_from(Activity).where(*conds)) or 0
        rows = list(s.scalars(select(Activity).where(*conds)
                              .order_by(Activity.starts_on.desc(), Activity.code)
                              .offset((page_no - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
        return {"f": f, "items": [{"a": a, "agreements": sorted(
                    r.code for r in a.agreements if r.code in own)} for a in rows],
                "pg": Pager("/activities", f, page_no, count), "own": own,
                "types": list(ACTIVITY_TYPES)}
    return _show(request, "activities.html", build)


def _activity_totals(s: Session, act: Activity, party: str, codes: list[str]
                     ) -> dict[str, Any]:
    """The ordered value of the activity's orders of the party (not cancelled), by category,
    by supplies vs services and by direction, per currency; and its orders by state. Two
    aggregates in the database over the activity's orders, reused while nothing has changed
    (every change to an order appends an audit event). Quantities are stored as exact decimal
    text, so the database multiplies them as numbers and the sums are rounded to the minor
    unit per group (an order's own total rounds per line)."""
    cond = (Order.activity_id == act.id, Order.agreement_code.in_(codes),
            or_(Order.requesting_party == party, Order.supplying_party == party))

    def compute() -> dict[str, Any]:
        states = dict(s.execute(select(Order.state, func.count()).where(*cond)
                                .group_by(Order.state)).all())
        value = func.sum(cast(OrderLine.quantity, Numeric) * OrderLine.unit_price_minor)
        stmt = (select(OrderLine.category, OrderLine.kind, OrderLine.currency,
                       Order.supplying_party, value)
                .join(Order, Order.id == OrderLine.order_id)
                .where(*cond, Order.state != "cancelled")
                .group_by(OrderLine.category, OrderLine.kind, OrderLine.currency,
                          Order.supplying_party))
        by_cat: dict[tuple[str, str], int] = defaultdict(int)
        by_kind: dict[tuple[str, str], int] = defaultdict(int)
        by_dir: dict[tuple[str, str], int] = defaultdict(int)
        totals: dict[str, int] = defaultdict(int)
        for cat, kind, cur, supplier, total in s.execute(stmt):
            provided = supplier == party
            minor = int(Decimal(str(total or 0)).quantize(Decimal(1), ROUND_HALF_EVEN))
            by_cat[(cat, cur)] += minor
            by_kind[(kind, cur)] += minor
            by_dir[("provided" if provided else "received", cur)] += minor
            totals[cur] += minor
        return {"states": dict(sorted(states.items())),
                "by_category": dict(sorted(by_cat.items())),
                "by_kind": dict(sorted(by_kind.items())),
                "by_direction": dict(sorted(by_dir.items())),
                "totals": dict(sorted(totals.items()))}
    return dashboard._cached(s, ("web-activity", act.id, party, tuple(codes)), compute)


@router.get("/activities/{code}")
def activity_page(code: str, request: Request) -> Response:
    page_no = _page_no(request)

    def build(s: Session, p: deps.Page) -> dict[str, Any]:
        own = {a.code for a in _own(s, p.viewer.party)}
        try:
            act = activities.get_activity(s, code)
        except errors.NotFound:
            act = None
        codes = sorted(r.code for r in act.agreements if r.code in own) if act else []
        if act is None or not codes:  # exactly as for an activity that does not exist
            raise errors.NotFound(f"no activity {code!r}", field="activity")
        rows, count = orders.search_orders(s, orders.OrderQuery(activity=act.code),
                                           viewer_party=p.viewer.party,
                                           offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        return {"a": act, "agreements": codes,
                "items": [{"o": o, "total": orders.total(o)} for o in rows],
                "pg": Pager(f"/activities/{act.code}", {}, page_no, count),
                **_activity_totals(s, act, p.viewer.party, codes)}
    return _show(request, "activity.html", build)


# --- agreements ----------------------------------------------------------------------------
def in_force_status(a: Agreement, on: dt.date) -> tuple[str, dt.date | None]:
    """in_force, unknown (no entry-into-force date known), not_yet or expired."""
    if a.in_force_on is None:
        return "unknown", None
    if on < a.in_force_on:
        return "not_yet", a.in_force_on
    end = a.end_on()
    if end and on > end:
        return "expired", end
    return "in_force", end


@router.get("/agreements")
def agreement_list(request: Request) -> Response:
    def build(s: Session, p: deps.Page) -> dict[str, Any]:
        on = today()
        return {"items": [{"a": a, "status": in_force_status(a, on)}
                          for a in _own(s, p.viewer.party)]}
    return _show(request, "agreements.html", build)


@router.get("/agreements/{code}")
def agreement_page(code: str, request: Request) -> Response:
    def build(s: Session, p: deps.Page) -> dict[str, Any]:
        a = agreements.get_for_party(s, code, p.viewer.party)
        unconfirmed = set(a.unconfirmed)

        def unsure(*names: str) -> bool:
            return any(n in unconfirmed or n.split(".")[0] in unconfirmed for n in names)
        return {"a": a, "status": in_force_status(a, today()), "unsure": unsure,
                "unconfirmed": sorted(unconfirmed),
                "activity_types": list(ACTIVITY_TYPES),
                "kinds": {c: k.value for c, k in CATEGORIES.items()}}
    return _show(request, "agreement.html", build)


# --- rates ---------------------------------------------------------------------------------
@router.get("/rates")
def rate_list(request: Request) -> Response:
    f = _filters(request, "currency", "kind", "agreement")
    f["currency"] = f["currency"].upper() if f["currency"].upper() in CURRENCIES else ""
    f["kind"] = f["kind"] if f["kind"] in rates.KINDS else ""
    page_no = _page_no(request)

    def build(s: Session, p: deps.Page) -> dict[str, Any]:
        own = sorted(a.code for a in _own(s, p.viewer.party))
        agreement = f["agreement"].upper() if f["agreement"].upper() in own else ""
        f["agreement"] = agreement
        rows, count = rates.search_rates(s, agreement_codes=own, currency=f["currency"] or None,
                                         kind=f["kind"] or None, agreement=agreement or None,
                                         offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        return {"f": f, "items": rows, "pg": Pager("/rates", f, page_no, count),
                "own": own, "currencies": CURRENCIES, "kinds": rates.KINDS}
    return _show(request, "rates.html", build)


# --- books ---------------------------------------------------------------------------------
def _ageing(s: Session, party: str, codes: list[str], as_of: dt.date) -> dict[str, Any]:
    report = reports_data.ageing(s, as_of=as_of, party=party, agreement_codes=codes)
    rows = report.buckets
    top = max([v for sums in rows.values() for v in sums.values()] + [1])
    return {"names": report.bucket_names, "rows": rows, "claims": len(report.lines),
            "top": top}


def _totals(s: Session, party: str, covered: list[Agreement], as_of: dt.date
            ) -> dict[str, Any]:
    acts = {a.id: a.code for a in activities.list_activities_under(
        s, [a.code for a in covered])}
    by_activity: dict[tuple[str, str, str], int] = defaultdict(int)
    by_category: dict[tuple[str, str, str], int] = defaultdict(int)
    for a in covered:
        for r in reports.totals(s, agreement=a.code, as_of=as_of):
            if party not in (r.supplier, r.recipient) or not books.is_currency(r.commodity):
                continue
            way = "provided" if r.supplier == party else "received"
            by_activity[(way, acts.get(r.activity_id or 0, "—"), r.commodity)] += r.amount
            by_category[(way, r.category or "—", r.commodity)] += r.amount
    return {"by_activity": dict(sorted(by_activity.items())),
            "by_category": dict(sorted(by_category.items()))}


@router.get("/books")
def books_page(request: Request) -> Response:
    f = _filters(request, "as_of", "from", "currency", "statement")
    as_of = _date(f["as_of"]) or today()
    try:
        reports_data.check_date(as_of, "as_of")
    except errors.AcsaError:
        as_of = today()
    f["as_of"] = as_of.isoformat()
    # the statement's movements from the first of the month by default (any date may be
    # chosen): a page reads a period of the books, never the whole history
    from_on = _date(f["from"]) or as_of.replace(day=1)
    if from_on > as_of or from_on < reports_data.EARLIEST:
        from_on = as_of.replace(day=1)
    f["from"] = from_on.isoformat()
    mpage = _page_no(request, "mpage")

    def build(s: Session, p: deps.Page) -> dict[str, Any]:
        party = p.viewer.party
        covered = _own(s, party)
        codes = [a.code for a in covered]
        cur = f["currency"].upper()
        if cur not in CURRENCIES:
            cur = parties.get_party(s, party).currency
        f["currency"] = cur
        bal = dashboard.books(s, party, cur, as_of)
        with_books = [a.code for a in covered if a.other_party(party) in
                      {b.partner for b in bal.partners}]  # default: a partner with a balance
        chosen = f["statement"].upper() if f["statement"].upper() in codes else \
            (with_books or codes or [""])[0]
        f["statement"] = chosen
        ageing = dashboard._cached(s, ("web-ageing", party, as_of),
                                   lambda: _ageing(s, party, codes, as_of))
        totals = dashboard._cached(s, ("web-totals", party, as_of),
                                   lambda: _totals(s, party, covered, as_of))
        statement, pager, error = None, None, None
        if chosen:
            try:
                statement = dashboard._cached(
                    s, ("web-statement", party, chosen, from_on, as_of),
                    lambda: reports_data.statement(s, party=party, agreement=chosen,
                                                   from_on=from_on, as_of=as_of))
            except errors.AcsaError as e:
                error = deps.refusal(e)
        if statement is not None:
            longest = max([len(x.movements) for x in statement.sections] + [0])
            pager = Pager("/books", f, mpage, longest, size=MOVEMENTS, key="mpage")
        return {"f": f, "as_of": as_of, "books": bal, "ageing": ageing, "totals": totals,
                "statement": statement, "mpager": pager, "error": error,
                "covered": covered, "currencies": CURRENCIES,
                "partner_of": {a.code: a.other_party(party) for a in covered}}
    return _show(request, "books.html", build)


# --- audit ---------------------------------------------------------------------------------
def may_verify(viewer: users.Viewer) -> bool:
    """As the API: auditors, finance officials and administrators."""
    return viewer.is_auditor or viewer.role == "finance" or viewer.is_admin


def _audit_context(s: Session, p: deps.Page, request: Request) -> dict[str, Any]:
    f = _filters(request, "subject", "action", "dir")
    f["dir"] = f["dir"] if f["dir"] in ("asc", "desc") else "desc"
    page_no = _page_no(request)
    rows, count = audit.search_events(s, viewer_party=p.viewer.party,
                                      subject=f["subject"] or None, action=f["action"] or None,
                                      descending=f["dir"] == "desc",
                                      offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE,
                                      count_limit=EVENTS_COUNTED + 1)
    payloads = {}
    for e in rows:
        try:
            payloads[e.seq] = json.loads(e.payload)
        except ValueError:
            payloads[e.seq] = {}
    return {"f": f, "items": rows, "pg": Pager("/audit", f, page_no, count,
                                               size=PAGE_SIZE, count_limit=EVENTS_COUNTED,
                                               shown=len(rows)),
            "may_verify": may_verify(p.viewer), "payloads": payloads, "verified": None}


@router.get("/audit")
def audit_page(request: Request) -> Response:
    return _show(request, "audit.html", lambda s, p: _audit_context(s, p, request))


def _verify(request: Request, csrf: str) -> Response:
    try:
        p = deps.page(request)
    except deps.NeedsSignIn as e:
        return deps.signin_redirect(e.next_path)
    try:
        deps.check_csrf(csrf, p.csrf)
    except deps.CsrfRefused:
        return deps.render(request, "error.html", {"p": p, "csrf_refused": True},
                           lang=p.lang, status=403)
    if not may_verify(p.viewer):
        return deps.respond_error(request, p, api_deps.Forbidden(
            "only auditors, finance officials and administrators may verify the audit chain"))
    result = api_deps.run(request, audit.verify)
    with api_deps.transaction(request, read_only=True) as s:
        context = _audit_context(s, p, request)
    context["verified"] = result
    return deps.render(request, "audit.html", {"p": p, **context}, lang=p.lang,
                       status=200)


@router.post("/audit/verify")
async def verify(request: Request) -> Response:
    """Recompute the whole hash chain (one request, on demand: it reads every event)."""
    form = await request.form(max_files=0, max_fields=5)
    return await run_in_threadpool(_verify, request, str(form.get("csrf_token") or ""))


# --- people --------------------------------------------------------------------------------
@router.get("/people")
def people(request: Request) -> Response:
    page_no = _page_no(request)
    upage = _page_no(request, "upage")

    def build(s: Session, p: deps.Page) -> dict[str, Any]:
        party = p.viewer.party
        officials = parties.list_officials(s, party)  # one party's officials: a short list
        units = {u.id: u.code for u in s.scalars(select(Unit).where(Unit.party_code == party))}
        opager = Pager("/people", {"upage": str(upage)}, page_no, len(officials))
        out: dict[str, Any] = {
            "officials": officials[opager.offset:opager.offset + PAGE_SIZE],
            "units": units, "opager": opager, "users": None, "upager": None, "today": today()}
        if p.viewer.is_admin:  # users and their accounts: administrators of the party only
            found = users.list_users(s, party)
            upager = Pager("/people", {"page": str(page_no)}, upage, len(found), key="upage")
            names = {o.id: o.code for o in officials}
            now = utcnow()
            out["users"] = [{"u": u, "official": names.get(u.official_id or 0, ""),
                             "locked": u.locked_until is not None and u.locked_until > now}
                            for u in found[upager.offset:upager.offset + PAGE_SIZE]]
            out["upager"] = upager
        return out
    return _show(request, "people.html", build)
