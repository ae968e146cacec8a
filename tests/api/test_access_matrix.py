"""Who may call what: every route of the API, for every kind of caller, on objects of the
caller's own party, of its partner and of a third nation.

The routes are read from the application itself, so a new route is walked as soon as
it exists and fails until RULES says who may call it. For each route, each object it can name
(a PH-JP order seen by JP, PH and US users; a PH-US order seen by PH, US and JP users; ...) and
each caller (nobody, every demo user: each role of each party, the administrators and the
auditors), the expected answer is derived from the rule, in this order, as the API decides it:

1. nobody signed in: 401 (only sign-in is public);
2. a check that does not depend on the object fails (no official to sign as, not an
   administrator, not finance): 403;
3. the object belongs to parties the caller's party is not one of: 404, answered exactly as for
   an object that does not exist (no existence leak);
4. the caller's role or side may not do this to this object: 403, naming the reason;
5. otherwise the route's success status, with the route's own checks (lists hold only what the
   caller's party may see; a partner never sees the requester's fund citation or notes).

Each module gets a freshly loaded copy of the demo story on each backend. Objects are made in
the state the action needs, so a refusal can only come from who is asking; callers who will be
refused go first, and each further success gets a new object.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from acsa import demo
from acsa.api.app import create_app
from acsa.db.engine import make_engine, unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.parties import service as parties
from acsa.settlement import service as settlement
from acsa.users import service as users
from acsa.users.models import User
from acsa.webhooks import service as webhooks
from tests.api.conftest import CHEAP_HASHER, PASSWORD
from tests.api.helpers import JP_REQUESTS, PH_REQUESTS, PH_US
from tests.conftest import _pg_admin, _pg_url

API = "/api/v1"
ORDER_ON = dt.date(2026, 11, 2)  # the objects' date: inside every official's authority
ON = "2026-11-20"  # the date of every act over HTTP, after the objects were made
FUND, NOTES = "JMSDF FY2026 O&M matrix", "internal: matrix notes"
STOCK = "9140-00-273-2377"
AGREEMENT_PARTIES = {"PHJP": {"PH", "JP"}, "PHUS": {"PH", "US"}, "JPUS": {"JP", "US"}}
UNIT_OF = {"PH": "PN-NBSBMA", "JP": "JMSDF-DD110", "US": "USN-CTF73"}
FINANCE_OF = {"PH": "ph-santos", "JP": "jp-abe"}
# the problem types a 403 may carry: every one names who may not do what
FORBIDDEN_TYPES = {"Forbidden", "WrongRole", "WrongParty", "AuthorityNotValid",
                   "ValueLimitExceeded", "SeparationOfDuties", "OfficialNotAuthorized"}


# --- callers -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    username: str | None  # None: nobody signed in
    party: str = ""
    official: str | None = None
    role: str | None = None
    admin: bool = False

    def __str__(self) -> str:
        if self.username is None:
            return "anonymous"
        what = "admin" if self.admin else self.role
        return f"{self.username} ({self.party} {what})"


ROLE = {code: role for code, _, _, role, *_ in demo.OFFICIALS}
CALLERS = [Caller(None)] + [
    Caller(name, party, official, ROLE[official] if official else None, admin)
    for name, (party, official, admin) in demo.USERS.items()]


def signs(c: Caller) -> bool:
    """The caller is linked to an official who may act (auditors only read)."""
    return c.official is not None and c.role != "auditor"


def admin(c: Caller) -> bool:
    return c.admin


def finance_or_admin(c: Caller) -> bool:
    return c.admin or c.role == "finance"


def verifier(c: Caller) -> bool:
    return c.admin or c.role in ("finance", "auditor")


# --- objects -------------------------------------------------------------------------------
@dataclass
class Obj:
    """Something a route names (in its path, query or body), and the same with identifiers
    that do not exist (`ghost`)."""

    label: str
    ids: dict[str, str]
    ghost: dict[str, str]
    parties: frozenset[str]
    facts: dict[str, Any] = field(default_factory=dict)
    owner: str | None = None  # a user's own object (an API token): only that user sees it

    def visible_to(self, c: Caller) -> bool:
        if self.owner is not None:
            return c.username == self.owner
        return c.party in self.parties

    def as_ghost(self) -> Obj:
        return Obj(self.label + " (missing)", self.ghost, self.ghost, self.parties, self.facts,
                   self.owner)


@dataclass
class World:
    engine: Engine
    client: TestClient
    tokens: dict[str, str]
    serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def next(self) -> int:
        return next(self.serial)


@dataclass(frozen=True)
class Target:
    label: str
    build_many: Callable[[World, int], list[Obj]]  # n objects, made in one unit of work

    def build(self, w: World) -> Obj:
        return self.build_many(w, 1)[0]


def each(build: Callable[[World], Obj]) -> Callable[[World, int], list[Obj]]:
    return lambda w, n: [build(w) for _ in range(n)]


PAIRS = {"JP>PH": JP_REQUESTS, "PH>US": PH_US}
SUPPLIER_CURRENCY = {"JP>PH": "PHP", "PH>US": "USD", "PH>JP": "JPY"}
PRICE = {"PHP": ("70", "5000"), "USD": ("0.92", "100"), "JPY": ("200", "10000")}


def _line(currency: str, method: str) -> orders.LineInput:
    goods, service = PRICE[currency]
    if method == "eve":
        return orders.LineInput(category="transportation", description="Harbour launch, hours",
                                quantity=Decimal(10), unit="h", method="eve",
                                unit_price=Money.of(service, currency))
    return orders.LineInput(category="fuel", description="Diesel fuel, marine",
                            quantity=Decimal(100), unit="L", method=method, stock_number=STOCK,
                            unit_price=Money.of(goods, currency))


def make_orders(w: World, pair: str, state: str, n: int = 1, method: str = "cash",
                who: dict[str, str] | None = None) -> list[Obj]:
    """`n` orders of `pair` ('JP>PH': JP requests from PH under PHJP; 'PH>US') in `state`."""
    with unit_of_work(w.engine) as s:
        return [_order(s, pair, state, method, who or PAIRS[pair]) for _ in range(n)]


def _order(s: Session, pair: str, state: str, method: str, who: dict[str, str]) -> Obj:
    order = orders.create_order(
        s, agreement_code=who["agreement"], activity_code=who["activity"], by=who["req"],
        order_on=ORDER_ON, lines=[_line(SUPPLIER_CURRENCY[pair], method)],
        delivery_place="Subic Bay", delivery_on=ORDER_ON, fund_citation=FUND, notes=NOTES,
        requester_poc="matrix POC", requesting_unit=who["req_unit"])
    number, req, sup = order.number, order.requesting_party, order.supplying_party
    sha, claim = None, None
    if state != "draft":
        orders.request_order(s, number=number, by=who["req"], on=ORDER_ON)
    if state in ("accepted", "disputed", "delivered", "received", "settled"):
        orders.accept_order(s, number=number, by=who["app"], on=ORDER_ON,
                            supplier_poc="matrix POC", supplying_unit=who["sup_unit"])
    if state == "disputed":
        orders.dispute_order(s, number=number, by=who["req"], on=ORDER_ON,
                             reason="matrix: quantities disputed")
    if state in ("delivered", "received", "settled"):
        delivery = orders.record_delivery(
            s, number=number, by=who["sup"], on=ORDER_ON, quantities={1: Decimal(100)}
            if method != "eve" else {1: Decimal(10)}, document_name="slip.pdf",
            document=f"%PDF-1.4 issue slip {number}".encode(),
            content_type="application/pdf")
        sha = delivery.document_sha256
    if state in ("received", "settled"):
        orders.record_receipt(s, number=number, by=who["rcv"], on=ORDER_ON, lines={})
        [claim] = settlement.open_claim_numbers(s, orders.get_order(s, number))
    if state == "settled":
        c = settlement.find_claim(s, claim)
        settlement.pay(s, claim_ref=claim, by=FINANCE_OF[req], on=ORDER_ON,
                       amount=Money(c.amount_minor, c.currency))
    ghost = f"{who['agreement']}-{req}-2026-9999"
    currency = SUPPLIER_CURRENCY[pair]
    return Obj(f"{pair} order ({state})", {"number": number}, {"number": ghost},
               frozenset({req, sup}),
               {"requesting": req, "supplying": sup, "currency": currency, "sha": sha,
                "claim": claim})


def order_targets(state: str) -> tuple[Target, ...]:
    return tuple(Target(f"{pair} order ({state})",
                        lambda w, n, p=pair: make_orders(w, p, state, n)) for pair in PAIRS)


def claim_targets(method: str) -> tuple[Target, ...]:
    def as_claim(o: Obj) -> Obj:
        claim = o.facts["claim"]
        return Obj(o.label, {"number": claim},
                   {"number": claim.replace(o.ids["number"], o.ghost["number"])}, o.parties,
                   {**o.facts, "creditor": o.facts["supplying"],
                    "debtor": o.facts["requesting"]})
    return tuple(Target(f"{pair} {method} claim", lambda w, n, p=pair: [
        as_claim(o) for o in make_orders(w, p, "received", n, method)]) for pair in PAIRS)


def document_targets() -> tuple[Target, ...]:
    def as_document(o: Obj) -> Obj:
        return Obj(o.label, {"sha256": o.facts["sha"]}, {"sha256": "0" * 64}, o.parties)
    return tuple(Target(f"document of a {pair} order", lambda w, n, p=pair: [
        as_document(o) for o in make_orders(w, p, "delivered", n)]) for pair in PAIRS)


def _withdraw_pending_offsets(w: World) -> None:
    with w.engine.begin() as conn:
        conn.execute(text("UPDATE offsets SET state = 'withdrawn' WHERE state = 'proposed'"))


def offset_agreement(w: World) -> Obj:
    """PHJP, ready for an offset: none pending, and open cash claims both ways (the demo has
    PH's bills to JP; a fresh order gives JP one on PH)."""
    _withdraw_pending_offsets(w)
    make_orders(w, "PH>JP", "received", who=PH_REQUESTS)
    return Obj("PHJP (to offset)", {"agreement": "PHJP"}, {"agreement": "ZZZZ"},
               frozenset({"PH", "JP"}))


def proposed_offset(w: World) -> Obj:
    offset_agreement(w)
    with unit_of_work(w.engine) as s:
        number = settlement.propose_offset(s, agreement_code="PHJP", by="jp-abe",
                                           on=ORDER_ON).number
    return Obj("PHJP offset proposed by JP", {"number": number}, {"number": "PHJP-OFS-9999"},
               frozenset({"PH", "JP"}), {"proposing": "JP", "approving": "PH"})


def agreement_targets(*codes: str) -> tuple[Target, ...]:
    return tuple(Target(code, each(lambda w, c=code: Obj(
        c, {"agreement": c}, {"agreement": "ZZZZ"}, frozenset(AGREEMENT_PARTIES[c]))))
        for code in codes)


def token_targets() -> tuple[Target, ...]:
    def build(w: World, username: str) -> Obj:
        with unit_of_work(w.engine) as s:
            user = users.get_user(s, username)
            token, _ = users.create_token(s, user, name="matrix target")
            return Obj(f"an API token of {username}", {"token_id": str(token.id)},
                       {"token_id": "999999"}, frozenset({user.party_code}), owner=username)
    return tuple(Target(f"an API token of {u}", each(lambda w, u=u: build(w, u)))
                 for u in ("sato", "garcia"))


def webhook_targets() -> tuple[Target, ...]:
    def build(w: World, party: str) -> Obj:
        with unit_of_work(w.engine) as s:
            sub = webhooks.add_subscription(s, party=party, url="http://127.0.0.1:9/hook",
                                            secret="matrix-secret-0123456789",
                                            actor="matrix")
            return Obj(f"a webhook of {party}", {"subscription_id": str(sub.id)},
                       {"subscription_id": "999999"}, frozenset({party}))
    return tuple(Target(f"a webhook of {p}", each(lambda w, p=p: build(w, p)))
                 for p in ("JP", "PH"))


def body_ref_targets(key: str, refs: dict[str, str], ghost: str) -> tuple[Target, ...]:
    """Objects named in a request body: a unit or an official of a given party."""
    return tuple(Target(f"{key} {ref} of {party}", each(lambda w, p=party, r=ref: Obj(
        f"{key} {r} of {p}", {key: r}, {key: ghost}, frozenset({p}))))
        for party, ref in refs.items())


def official_targets() -> tuple[Target, ...]:
    """A fresh official of JP and of PH (each success changes or ends one)."""
    def build(w: World, party: str) -> Obj:
        code = f"mx-chg-{party.lower()}-{w.next()}"
        with unit_of_work(w.engine) as s:
            parties.add_official(s, code=code, name="Matrix official", party=party,
                                 role="finance", valid_from=dt.date(2026, 1, 1),
                                 valid_to=dt.date(2030, 12, 31))
        return Obj(f"an official of {party}", {"code": code}, {"code": "no-such-official"},
                   frozenset({party}))
    return tuple(Target(f"an official of {p}", each(lambda w, p=p: build(w, p)))
                 for p in ("JP", "PH"))


# --- who may, per object -------------------------------------------------------------------
Pred = Callable[[Caller, Obj | None], bool]


def anyone(c: Caller, o: Obj | None) -> bool:
    return True


def role(*roles: str, side: str | None = None) -> Pred:
    """The caller's official has one of `roles` (and acts for the object's `side`)."""
    def may(c: Caller, o: Obj | None) -> bool:
        return c.role in roles and (side is None or (o is not None and
                                                     c.party == o.facts[side]))
    return may


# --- checks on a success -------------------------------------------------------------------
Check = Callable[[Caller, Obj | None, Response], list[str]]


def order_view(c: Caller, o: Obj | None, r: Response) -> list[str]:
    """Both parties see the order; only the requesting party its internal fields."""
    body = r.json()
    view = body.get("order", body)
    assert o is not None
    if c.party == o.facts["requesting"]:
        if view.get("fund_citation") != FUND or view.get("notes") != NOTES:
            return [f"the requester does not see its own fund citation and notes: {view}"]
    elif view.get("fund_citation") is not None or view.get("notes") is not None:
        return [f"the partner sees the requester's internal fields: "
                f"{view.get('fund_citation')!r}, {view.get('notes')!r}"]
    return []


def form_view(c: Caller, o: Obj | None, r: Response) -> list[str]:
    """The order form as a PDF: the requester's internal fields only on the requester's."""
    import io

    import pypdf

    assert o is not None
    if r.headers.get("content-type") != "application/pdf":
        return [f"not a PDF: {r.headers.get('content-type')}"]
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages)
    if o.ids["number"] not in text:
        return ["the form does not name its order"]
    shown = FUND in text
    if shown != (c.party == o.facts["requesting"]):
        return [f"fund citation {'shown to' if shown else 'hidden from'} {c.party}"]
    return []


def receipt_targets() -> tuple[Target, ...]:
    """The payment settling the claim of a paid order (one per pair)."""
    def as_settlement(w: World, o: Obj) -> Obj:
        with unit_of_work(w.engine) as s:
            [record] = settlement.find_claim(s, o.facts["claim"]).settlements
            return Obj(o.label + " payment", {"settlement_id": str(record.id)},
                       {"settlement_id": "999999"}, o.parties, o.facts)
    return tuple(Target(f"{pair} payment", lambda w, n, p=pair: [
        as_settlement(w, o) for o in make_orders(w, p, "settled", n)]) for pair in PAIRS)


def activity_targets() -> tuple[Target, ...]:
    """Demo activities under one agreement each: seen by that agreement's parties."""
    return tuple(Target(code, each(lambda w, c=code, a=agreement: Obj(
        c, {"code": c}, {"code": "NO-SUCH-ACTIVITY"}, frozenset(AGREEMENT_PARTIES[a]))))
        for code, agreement in (("TY-RELIEF-CEBU", "PHJP"), ("BALIKATAN-2025", "PHUS")))


def export_targets() -> tuple[Target, ...]:
    """An export of each kind, limited to one agreement: only its parties may ask for it."""
    return tuple(Target(f"{what} of {code}", each(lambda w, x=what, c=code: Obj(
        f"{x} of {c}", {"what": x, "agreement": c}, {"what": x, "agreement": "ZZZZ"},
        frozenset(AGREEMENT_PARTIES[c]))))
        for what, code in (("orders", "PHJP"), ("ledger", "PHUS")))


def _import(w: World, o: Obj | None) -> dict[str, Any]:
    from acsa.documents import bulk_format

    return {"files": {"file": ("orders.csv", bulk_format.template_bytes("csv"), "text/csv")},
            "data": {"dry_run": "true"}}


def items_where(pred: Callable[[Caller, dict[str, Any]], bool], *,
                nonempty: bool = True) -> Check:
    """A list the caller's party may see only part of: every item passes `pred`."""
    def check(c: Caller, o: Obj | None, r: Response) -> list[str]:
        body = r.json()
        items = body["items"] if isinstance(body, dict) else body
        bad = [i for i in items if not pred(c, i)]
        out = [f"item not of {c.party}'s: {i}" for i in bad[:3]]
        if nonempty and not items:
            out.append("an empty list: the check could not see anything")
        return out
    return check


def involves(*keys: str) -> Callable[[Caller, dict[str, Any]], bool]:
    return lambda c, i: c.party in {i[k] for k in keys}


def _agreements_of(c: Caller) -> set[str]:
    return {a for a, ps in AGREEMENT_PARTIES.items() if c.party in ps}


ORDER_NUMBER = re.compile(r"^([A-Z]{4})-[A-Z]{2}-\d{4}-\d{4}$")


def visible_event(c: Caller, e: dict[str, Any]) -> bool:
    m = ORDER_NUMBER.match(e["subject"])
    if m:
        return m.group(1) in _agreements_of(c)
    return e["party"] in (c.party, "")


def balances_of_party(c: Caller, o: Obj | None, r: Response) -> list[str]:
    rows = r.json()["balances"]
    return [f"a balance not of {c.party}: {x}" for x in rows
            if c.party not in (x["creditor"], x["debtor"])][:3]


# --- bodies --------------------------------------------------------------------------------
Body = Callable[[World, Obj | None], dict[str, Any]]


def js(**fields: Any) -> Body:
    return lambda w, o: {"json": fields}


def act(**fields: Any) -> Body:
    return lambda w, o: {"json": {"on": ON, **fields}}


def _new_order(w: World, o: Obj | None) -> dict[str, Any]:
    assert o is not None
    return {"json": {
        "agreement": o.ids["agreement"], "activity": "KAMANDAG-10",
        "order_on": ORDER_ON.isoformat(), "fund_citation": FUND, "notes": NOTES,
        "lines": [{"category": "fuel", "description": "Diesel fuel, marine", "quantity": "10",
                   "unit": "L", "unit_price": "1", "method": "cash"}]}}


def _accept(w: World, o: Obj | None) -> dict[str, Any]:
    assert o is not None
    return {"json": {"on": ON, "supplier_poc": "matrix duty officer",
                     "supplying_unit": UNIT_OF[o.facts["supplying"]]}}


def _deliver(w: World, o: Obj | None) -> dict[str, Any]:
    return {"files": {"document": ("slip.pdf", b"%PDF-1.4 matrix delivery", "application/pdf")},
            "data": {"on": ON}}


def _pay(w: World, o: Obj | None) -> dict[str, Any]:
    assert o is not None
    return {"json": {"on": ON, "amount": "1", "currency": o.facts["currency"],
                     "reference": "matrix"}}


def _return(w: World, o: Obj | None) -> dict[str, Any]:
    return {"json": {"on": ON, "quantity": "1", "unit": "L", "stock_number": STOCK}}


def _exchange(w: World, o: Obj | None) -> dict[str, Any]:
    assert o is not None
    return {"json": {"on": ON, "value": "10", "currency": o.facts["currency"],
                     "category": "transportation", "description": "matrix: launch, 1 hour"}}


def _unit(w: World, o: Obj | None) -> dict[str, Any]:
    return {"json": {"code": f"MX-UNIT-{w.next()}", "name": "Matrix unit"}}


def _official(w: World, o: Obj | None) -> dict[str, Any]:
    assert o is not None
    return {"json": {"code": f"mx-off-{w.next()}", "name": "Matrix official",
                     "role": "requesting", "valid_from": "2026-01-01", "unit": o.ids["unit"]}}


def _user(w: World, o: Obj | None) -> dict[str, Any]:
    assert o is not None
    return {"json": {"username": f"mx-user-{w.next()}", "password": PASSWORD,
                     "official": o.ids["official"]}}


def _activity(w: World, o: Obj | None) -> dict[str, Any]:
    assert o is not None
    return {"json": {"code": f"MX-ACT-{w.next()}", "name": "Matrix exercise",
                     "type": "exercise", "place": "Luzon", "starts_on": "2026-12-01",
                     "ends_on": "2026-12-10", "agreements": [o.ids["agreement"]]}}


def _rate(w: World, o: Obj | None) -> dict[str, Any]:
    assert o is not None
    on = dt.date(2020, 1, 1) + dt.timedelta(days=w.next())
    return {"json": {"base": "EUR", "quote": "GBP", "rate": "0.85", "on": on.isoformat(),
                     "source": "matrix", "agreement": o.ids["agreement"]}}


def _login(w: World, o: Obj | None) -> dict[str, Any]:
    raise AssertionError("sign-in bodies depend on the caller")  # see send()


def query(**params: Any) -> Body:
    return lambda w, o: {"params": {**params, **(o.ids if o else {})}}


# --- the table -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    ok: int = 200
    may: Pred = anyone
    gate: Callable[[Caller], bool] | None = None  # checked before the object is looked at
    targets: tuple[Target, ...] = ()  # () : the route names no object
    body: Body | None = None
    fresh: bool = False  # a success uses the object up: further successes need a new one
    public: bool = False
    node: bool = False  # for partner nodes' signed requests only: every user is 401
    check: Check | None = None
    before_success: Callable[[World], None] | None = None


ORDERS = order_targets

RULES: dict[tuple[str, str], Rule] = {
    # auth
    ("POST", "/auth/login"): Rule(public=True, body=_login),
    ("POST", "/auth/logout"): Rule(ok=204),
    ("GET", "/auth/me"): Rule(),
    ("POST", "/auth/tokens"): Rule(ok=201, body=js(name="matrix")),
    ("GET", "/auth/tokens"): Rule(),
    ("DELETE", "/auth/tokens/{token_id}"): Rule(targets=token_targets()),
    # orders
    ("GET", "/orders"): Rule(body=query(page_size=500),
                             check=items_where(involves("requesting_party",
                                                        "supplying_party"))),
    ("POST", "/orders"): Rule(ok=201, gate=signs, may=role("requesting"),
                              targets=agreement_targets("PHJP", "PHUS"), body=_new_order),
    ("GET", "/orders/{number}"): Rule(targets=ORDERS("received"), check=order_view),
    ("PATCH", "/orders/{number}"): Rule(gate=signs, may=role("requesting", side="requesting"),
                                        targets=ORDERS("draft"),
                                        body=js(delivery_place="Alava Pier 2"),
                                        check=order_view),
    ("POST", "/orders/{number}/request"): Rule(
        gate=signs, may=role("requesting", side="requesting"), targets=ORDERS("draft"),
        body=act(), fresh=True, check=order_view),
    ("POST", "/orders/{number}/accept"): Rule(
        gate=signs, may=role("approving", side="supplying"), targets=ORDERS("requested"),
        body=_accept, fresh=True, check=order_view),
    ("POST", "/orders/{number}/cancel"): Rule(
        gate=signs, may=role("requesting", "approving"), targets=ORDERS("requested"),
        body=act(reason="matrix: no longer needed"), fresh=True, check=order_view),
    ("POST", "/orders/{number}/dispute"): Rule(
        gate=signs, may=role("requesting", "approving", "supplying", "receiving", "finance"),
        targets=ORDERS("accepted"), body=act(reason="matrix: disputed"), fresh=True,
        check=order_view),
    ("POST", "/orders/{number}/resolve"): Rule(
        gate=signs, may=role("approving", "finance"), targets=ORDERS("disputed"),
        body=act(resolution="matrix: agreed"), fresh=True, check=order_view),
    ("POST", "/orders/{number}/close"): Rule(
        gate=signs, may=role("finance"), targets=ORDERS("settled"), body=act(), fresh=True,
        check=order_view),
    ("POST", "/orders/{number}/deliveries"): Rule(
        ok=201, gate=signs, may=role("supplying", side="supplying"),
        targets=ORDERS("accepted"), body=_deliver, fresh=True, check=order_view),
    ("POST", "/orders/{number}/receipts"): Rule(
        ok=201, gate=signs, may=role("receiving", side="requesting"),
        targets=ORDERS("delivered"), body=act(), fresh=True, check=order_view),
    ("GET", "/orders/{number}/events"): Rule(targets=ORDERS("requested")),
    ("GET", "/documents/{sha256}"): Rule(targets=document_targets()),
    # settlement
    ("GET", "/claims"): Rule(body=query(page_size=500),
                             check=items_where(involves("creditor", "debtor"))),
    ("GET", "/claims/{number}"): Rule(targets=claim_targets("cash")),
    ("POST", "/claims/{number}/payments"): Rule(
        ok=201, gate=signs, may=role("finance", side="debtor"), targets=claim_targets("cash"),
        body=_pay),
    ("POST", "/claims/{number}/returns"): Rule(
        ok=201, gate=signs, may=role("finance", "supplying", side="debtor"),
        targets=claim_targets("rik"), body=_return),
    ("POST", "/claims/{number}/exchanges"): Rule(
        ok=201, gate=signs, may=role("finance", "supplying", side="debtor"),
        targets=claim_targets("eve"), body=_exchange),
    ("GET", "/offsets"): Rule(body=query(page_size=500),
                              check=items_where(involves("proposing_party", "approving_party"),
                                                nonempty=False)),
    ("POST", "/offsets"): Rule(
        ok=201, gate=signs, may=role("finance"),
        targets=(Target("PHJP (to offset)", each(offset_agreement)),),
        body=lambda w, o: {"json": {"agreement": o.ids["agreement"] if o else "", "on": ON}},
        fresh=True, before_success=_withdraw_pending_offsets),
    ("GET", "/offsets/{number}"): Rule(
        targets=(Target("PHJP offset proposed by JP", each(proposed_offset)),)),
    ("POST", "/offsets/{number}/approve"): Rule(
        gate=signs, may=role("finance", side="approving"),
        targets=(Target("PHJP offset proposed by JP", each(proposed_offset)),), body=act(),
        fresh=True),
    ("POST", "/offsets/{number}/withdraw"): Rule(
        gate=signs, may=role("finance", side="proposing"),
        targets=(Target("PHJP offset proposed by JP", each(proposed_offset)),),
        body=act(reason="matrix: withdrawn"), fresh=True),
    # documents (PDF): both parties of the object, nobody else
    ("GET", "/orders/{number}/form.pdf"): Rule(targets=ORDERS("received"), check=form_view),
    ("GET", "/claims/{number}/notice.pdf"): Rule(targets=claim_targets("cash")),
    ("GET", "/settlements/{settlement_id}/receipt.pdf"): Rule(targets=receipt_targets()),
    ("GET", "/offsets/{number}/document.pdf"): Rule(
        targets=(Target("PHJP offset proposed by JP", each(proposed_offset)),)),
    # audit packs (zip): the caller's party's part of the books
    ("GET", "/orders/{number}/audit-pack.zip"): Rule(targets=ORDERS("delivered")),
    ("GET", "/activities/{code}/audit-pack.zip"): Rule(targets=activity_targets()),
    # reports (PDF or xlsx) of the caller's party's book, per agreement or activity
    ("GET", "/reports/statement"): Rule(targets=agreement_targets("PHJP", "PHUS"),
                                        body=query()),
    ("GET", "/reports/ageing"): Rule(targets=agreement_targets("PHJP", "PHUS"), body=query()),
    ("GET", "/reports/annual"): Rule(targets=agreement_targets("PHJP", "PHUS"),
                                     body=query(fiscal_year=2026)),
    ("GET", "/reports/activities/{code}"): Rule(targets=activity_targets()),
    # bulk data: exports of the caller's party's part; imports by requesting officials
    ("GET", "/bulk/export/{what}"): Rule(targets=export_targets(), body=query(format="csv")),
    ("GET", "/bulk/import/template"): Rule(),
    ("POST", "/bulk/import/orders"): Rule(gate=signs, may=role("requesting"), body=_import),
    ("POST", "/deadlines"): Rule(gate=finance_or_admin,
                                 body=js(as_of=dt.date.today().isoformat())),
    # books
    ("GET", "/books/balance"): Rule(targets=agreement_targets("PHJP", "PHUS"), body=query(),
                                    check=balances_of_party),
    ("GET", "/books/ageing"): Rule(targets=agreement_targets("PHJP", "PHUS"), body=query()),
    ("GET", "/books/report"): Rule(targets=agreement_targets("PHJP", "PHUS"), body=query()),
    ("GET", "/books/export"): Rule(targets=agreement_targets("PHJP", "PHUS"), body=query()),
    # reference data
    ("GET", "/agreements"): Rule(check=items_where(lambda c, i: c.party in i["parties"])),
    ("GET", "/agreements/{code}"): Rule(targets=tuple(
        Target(t.label, each(lambda w, t=t: _as_code(t.build(w)))) for t in
        agreement_targets("PHJP", "PHUS"))),
    ("GET", "/parties"): Rule(check=items_where(lambda c, i: True)),
    ("GET", "/units"): Rule(check=items_where(lambda c, i: i["party"] == c.party)),
    ("POST", "/units"): Rule(ok=201, gate=admin, body=_unit),
    ("GET", "/officials"): Rule(body=query(page_size=500),
                                check=items_where(lambda c, i: i["party"] == c.party)),
    ("POST", "/officials"): Rule(ok=201, gate=admin, body=_official,
                                 targets=body_ref_targets("unit", {"JP": UNIT_OF["JP"],
                                                                   "PH": UNIT_OF["PH"]},
                                                          "NO-SUCH-UNIT")),
    ("PATCH", "/officials/{code}"): Rule(gate=admin, targets=official_targets(),
                                         body=lambda w, o: {"json": {
                                             "limit_amount": str(1000 + w.next())}}),
    ("POST", "/officials/{code}/deactivate"): Rule(gate=admin, targets=official_targets(),
                                                   body=js(on="2026-06-30"), fresh=True),
    ("GET", "/users"): Rule(body=query(page_size=500),
                            check=items_where(lambda c, i: i["party"] == c.party)),
    ("POST", "/users"): Rule(ok=201, gate=admin, body=_user,
                             targets=body_ref_targets("official", {"JP": "jp-mori",
                                                                   "PH": "ph-lim"},
                                                      "no-such-official")),
    ("GET", "/activities"): Rule(body=query(page_size=500), check=items_where(
        lambda c, i: bool(i["agreements"]) and set(i["agreements"]) <= _agreements_of(c))),
    ("POST", "/activities"): Rule(ok=201, gate=admin, body=_activity,
                                  targets=agreement_targets("PHJP", "PHUS")),
    ("GET", "/rates"): Rule(body=query(page_size=500), check=items_where(
        lambda c, i: i["agreement"] is None or i["agreement"] in _agreements_of(c))),
    ("POST", "/rates"): Rule(ok=201, gate=finance_or_admin, body=_rate,
                             targets=agreement_targets("PHJP", "PHUS")),
    # audit
    ("GET", "/audit/verify"): Rule(gate=verifier),
    ("GET", "/audit/events"): Rule(body=query(page_size=500),
                                   check=items_where(visible_event)),
    # webhooks: administrators of the subscription's own party only
    ("POST", "/webhooks"): Rule(ok=201, gate=admin, body=js(
        url="http://127.0.0.1:9/matrix-hook", secret="matrix-secret-0123456789")),
    ("GET", "/webhooks"): Rule(gate=admin, check=items_where(lambda c, i: i["party"] == c.party,
                                                             nonempty=False)),
    ("DELETE", "/webhooks/{subscription_id}"): Rule(ok=204, gate=admin,
                                                   targets=webhook_targets(), fresh=True),
    ("GET", "/webhooks/{subscription_id}/deliveries"): Rule(gate=admin,
                                                           targets=webhook_targets()),
    ("POST", "/webhooks/{subscription_id}/test"): Rule(ok=202, gate=admin,
                                                      targets=webhook_targets(), fresh=True),
    # node to node: a partner node's signed request, never a user's (tests/e2e/test_nodes.py)
    ("POST", "/sync/bundles"): Rule(node=True, body=lambda w, o: {"content": b"{}"}),
    ("GET", "/sync/bundles"): Rule(node=True),
    ("GET", "/sync/summary"): Rule(node=True, body=query(agreement="PHJP")),
}


def _as_code(o: Obj) -> Obj:
    return Obj(o.label, {"code": o.ids["agreement"]}, {"code": o.ghost["agreement"]},
               o.parties)


# --- the app's routes ----------------------------------------------------------------------
def all_routes(app: FastAPI) -> list[tuple[str, set[str]]]:
    """(path, methods) of every route, those of included routers too (FastAPI >= 0.130
    includes routers lazily: `app.routes` then holds the router, not its routes)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        found: list[Any] = list(app.routes)
    else:
        found = list(iter_route_contexts(app.routes))
    return [(r.path, set(r.methods or ())) for r in found if getattr(r, "path", None)]


def api_routes() -> list[tuple[str, str]]:
    app = create_app(create_engine("sqlite://"))
    return sorted((method, path.removeprefix(API)) for path, methods in all_routes(app)
                  if path.startswith(API + "/") for method in methods - {"HEAD"})


ROUTES = api_routes()
PUBLIC_OUTSIDE_API = {"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect"}
WEB_PUBLIC = {"/signin", "/signout", "/language", "/static/{name}", "/static/fonts/ipaexg.ttf"}
JP_REQUESTS_DEMO_ORDER = "PHJP-JP-2026-0001"


# --- the world of this module --------------------------------------------------------------
@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def matrix(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A fresh copy of the demo story with its users (password PASSWORD), a bearer token for
    each, and a client on the app."""
    drop: str | None = None
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("matrix") / "acsa.db"
        shutil.copy(request.getfixturevalue("_sqlite_world"), path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        template = request.getfixturevalue("_pg_world")
        drop = f"acsa_matrix_{uuid.uuid4().hex[:10]}"
        with _pg_admin().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{drop}" TEMPLATE "{template}"'))
        engine = make_engine(_pg_url(drop))
    tokens = {}
    with mock.patch.object(users, "HASHER", CHEAP_HASHER), unit_of_work(engine) as s:
        for name, (party, official, is_admin) in demo.USERS.items():
            user = s.query(User).filter_by(username=name).one_or_none() or users.add_user(
                s, username=name, password=PASSWORD, party=party, official=official,
                is_admin=is_admin, actor="matrix")
            tokens[name] = users.create_token(s, user, name="matrix")[1]
    client = TestClient(create_app(engine), raise_server_exceptions=False)
    try:
        yield World(engine, client, tokens)
    finally:
        client.close()
        engine.dispose()
        if drop:
            with _pg_admin().connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))


# --- walking a route -----------------------------------------------------------------------
def expected(rule: Rule, c: Caller, o: Obj | None) -> int:
    if rule.public:
        return rule.ok
    if c.username is None or rule.node:
        return 401
    if rule.gate is not None and not rule.gate(c):
        return 403
    if o is not None and not o.visible_to(c):
        return 404
    return rule.ok if rule.may(c, o) else 403


def send(w: World, c: Caller, method: str, path: str, rule: Rule, o: Obj | None) -> Response:
    headers = {"Authorization": f"Bearer {w.tokens[c.username]}"} if c.username else {}
    if rule.body is _login:
        kwargs: dict[str, Any] = {"json": {"username": c.username or "sato",
                                           "password": PASSWORD}}
    else:
        kwargs = rule.body(w, o) if rule.body else {}
    url = API + path.format(**(o.ids if o else {}))
    try:
        return w.client.request(method, url, headers=headers, **kwargs)
    finally:
        w.client.cookies.clear()  # a sign-in's cookie must not sign in the next caller


def judge(rule: Rule, c: Caller, o: Obj | None, want: int, r: Response) -> list[str]:
    if r.status_code != want:
        return [f"expected {want}, got {r.status_code}: {r.text[:300]}"]
    if want >= 400:
        if not r.headers.get("content-type", "").startswith("application/problem+json"):
            return [f"{want} is not problem+json: {r.headers.get('content-type')}"]
        problem = r.json()
        if problem.get("status") != want or not problem.get("detail"):
            return [f"a problem without its status or detail: {problem}"]
        if want == 403:
            kind = problem["type"].rsplit("/", 1)[-1]
            if kind not in FORBIDDEN_TYPES:
                return [f"403 of an unexpected type {kind}: {problem}"]
            if not names_reason(c, problem["detail"]):
                return [f"403 whose detail does not say why: {problem['detail']!r}"]
        return []
    return rule.check(c, o, r) if rule.check else []


REASON_WORDS = ("administrator", "auditor", "finance", "official", "only", "read-only")


def names_reason(c: Caller, detail: str) -> bool:
    """A refusal names who was refused (the user or its official) or the role it lacks."""
    low = detail.lower()
    return any(x and x.lower() in low for x in (c.username, c.official)) or \
        any(word in low for word in REASON_WORDS)


def walk(w: World, method: str, path: str, rule: Rule) -> list[str]:
    failures: list[str] = []
    for target in rule.targets or (None,):
        shared = target.build(w) if target else None
        # those who will be refused first: the object stays as built until a success
        order = sorted(CALLERS, key=lambda c: expected(rule, c, shared) < 300)
        successes = sum(expected(rule, c, shared) < 300 for c in order)
        spare = target.build_many(w, successes - 1) \
            if target and rule.fresh and successes > 1 else []
        used = False
        ghosts_seen: set[str] = set()
        for c in order:
            label = target.label if target else "-"
            want = expected(rule, c, shared)
            obj = shared
            if want < 300:
                if rule.fresh and used and target is not None:
                    obj = spare.pop()
                if rule.before_success:
                    rule.before_success(w)
                used = True
            r = send(w, c, method, path, rule, obj)
            failures += [f"{method} {path} [{label}] as {c}: {p}"
                         for p in judge(rule, c, obj, want, r)]
            if obj is not None and c.username and not obj.visible_to(c) \
                    and c.party not in ghosts_seen:
                ghosts_seen.add(c.party)
                g = send(w, c, method, path, rule, obj.as_ghost())
                if (g.status_code, _type(g)) != (r.status_code, _type(r)):
                    failures.append(
                        f"{method} {path} [{label}] as {c}: another party's object answers "
                        f"{r.status_code} {_type(r)}, a missing one {g.status_code} "
                        f"{_type(g)}: its existence leaks")
    return failures


def _type(r: Response) -> str:
    try:
        return str(r.json().get("type", ""))
    except ValueError:
        return ""


# --- the tests -----------------------------------------------------------------------------
def test_every_route_under_the_api_declares_who_may_call_it():
    missing = [f"{m} {p}" for m, p in ROUTES if (m, p) not in RULES]
    stale = [f"{m} {p}" for m, p in RULES if (m, p) not in ROUTES]
    assert not missing, f"routes with no entry in RULES (declare who may call them): {missing}"
    assert not stale, f"entries in RULES for routes that no longer exist: {stale}"


def test_routes_outside_the_api_are_the_public_ones(matrix: World):
    """Beside the API: its public documents, the web application's sign-in, language and
    static files, and web pages that send a stranger to sign in (tests/web tests them
    signed in)."""
    client = matrix.client
    outside = {(path, m) for path, methods in all_routes(client.app)
               if not path.startswith(API + "/") for m in methods - {"HEAD"}}
    paths = {path for path, _ in outside}
    assert PUBLIC_OUTSIDE_API | WEB_PUBLIC <= paths, paths
    pages = sorted((p, m) for p, m in outside if p not in PUBLIC_OUTSIDE_API | WEB_PUBLIC)
    assert pages, "the web application has no pages"
    for path, method in pages:
        r = client.request(method, path.format(number=JP_REQUESTS_DEMO_ORDER, code="PHJP",
                                                       username="jp-req"),
                           follow_redirects=False)
        if method == "GET":
            assert r.status_code == 303 and r.headers["location"].startswith("/signin"), \
                (path, r.status_code)
        else:
            assert r.status_code in (303, 401, 403), (method, path, r.status_code)
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_who_may_call_each_route(matrix: World, route: tuple[str, str]):
    method, path = route
    rule = RULES.get(route)
    assert rule is not None, f"{method} {path} has no entry in RULES: declare who may call it"
    failures = walk(matrix, method, path, rule)
    assert not failures, f"{len(failures)} wrong answers:\n" + "\n".join(failures)


# --- checks that depend on the person and the value, not only the role ---------------------
def _signed_in_as(w: World, username: str, party: str, code: str, role: str,
                  person: str) -> dict[str, str]:
    """A user signing as a new official of `party` in `role`, who is `person`."""
    with mock.patch.object(users, "HASHER", CHEAP_HASHER), unit_of_work(w.engine) as s:
        parties.add_official(s, code=code, name=f"{person} as {role}", party=party, role=role,
                             valid_from=dt.date(2026, 1, 1), unit=UNIT_OF[party],
                             person=person, limit=Money.of(50_000_000, "PHP")
                             if role == "approving" else None)
        user = users.add_user(s, username=username, password=PASSWORD, party=party,
                              official=code, actor="matrix")
        return {"Authorization": f"Bearer {users.create_token(s, user, name='sod')[1]}"}


def test_separation_of_duties_holds_for_the_signed_in_user(matrix: World):
    """One person registered (by mistake) as a JP requesting and a PH approving official may
    not accept over HTTP the order they requested over HTTP; another PH approver may."""
    tag = uuid.uuid4().hex[:6]
    person = f"person-liaison-{tag}"
    jp = _signed_in_as(matrix, f"liaison-jp-{tag}", "JP", f"jp-liaison-{tag}", "requesting",
                       person)
    ph = _signed_in_as(matrix, f"liaison-ph-{tag}", "PH", f"ph-liaison-{tag}", "approving",
                       person)
    client = matrix.client
    body = _new_order(matrix, Obj("PHJP", {"agreement": "PHJP"}, {}, frozenset()))["json"]
    body.update(requesting_unit=UNIT_OF["JP"], requester_poc="liaison", delivery_on=ON,
                delivery_place="Subic Bay")
    body["lines"][0]["stock_number"] = STOCK
    created = client.post(f"{API}/orders", json=body, headers=jp)
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert client.post(f"{API}/orders/{number}/request", json={"on": ON},
                       headers=jp).status_code == 200
    accept = {"on": ON, "supplier_poc": "duty officer", "supplying_unit": UNIT_OF["PH"]}
    refused = client.post(f"{API}/orders/{number}/accept", json=accept, headers=ph)
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("/SeparationOfDuties")
    assert person in refused.json()["detail"]
    assert client.get(f"{API}/orders/{number}", headers=ph).json()["state"] == "requested"
    cruz = {"Authorization": f"Bearer {matrix.tokens['cruz']}"}
    assert client.post(f"{API}/orders/{number}/accept", json=accept,
                       headers=cruz).status_code == 200


def test_an_approver_accepts_only_within_their_value_limit(matrix: World):
    """cruz may sign up to 50,000,000 PHP: an order worth more is refused with the limit and
    the value named, and is still requested."""
    [big] = make_orders(matrix, "JP>PH", "draft")
    with unit_of_work(matrix.engine) as s:
        orders.edit_order(s, number=big.ids["number"], by="jp-sato", on=ORDER_ON, changes={},
                          lines=[orders.LineInput(
                              category="fuel", description="Diesel fuel, marine",
                              quantity=Decimal(1_000_000), unit="L", method="cash",
                              stock_number=STOCK, unit_price=Money.of("60", "PHP"))])
        orders.request_order(s, number=big.ids["number"], by="jp-sato", on=ORDER_ON)
    cruz = {"Authorization": f"Bearer {matrix.tokens['cruz']}"}
    r = matrix.client.post(f"{API}/orders/{big.ids['number']}/accept", headers=cruz,
                           json=_accept(matrix, big)["json"])
    assert r.status_code == 403, r.text
    assert r.json()["type"].endswith("/ValueLimitExceeded")
    assert "50,000,000.00 PHP" in r.json()["detail"] and "60,000,000.00 PHP" in r.json()["detail"]
    order = matrix.client.get(f"{API}/orders/{big.ids['number']}", headers=cruz).json()
    assert order["state"] == "requested"
