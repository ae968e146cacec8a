"""The dashboard: the signed-in user's party at a glance, with its charts (`web.charts`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from acsa.api import deps as api_deps
from acsa.api.routes.orders import today
from acsa.orders.domain import State
from acsa.parties import service as parties
from acsa.web import charts, dashboard, deps

router = APIRouter(include_in_schema=False)
CURRENCIES = ("PHP", "JPY", "USD")


@router.get("/")
def home(request: Request, currency: str | None = None) -> Response:
    p = deps.page(request)
    on = today()

    def go(s: Session) -> dict[str, object]:
        cur = (currency or "").upper()
        if cur not in CURRENCIES:
            cur = parties.get_party(s, p.viewer.party).currency
        counts = dashboard.state_counts(s, p.viewer.party)
        due, due_count = dashboard.claims_due(s, p.viewer.party, on)
        books = dashboard.books(s, p.viewer.party, cur, on)
        figures = charts.figures(s, p.viewer.party, cur, on)
        history, support = figures.history, figures.support
        by_category, by_activity = charts.support_bars(support, p.lang)
        return {"counts": [(st.value, counts.get(st.value, 0)) for st in State],
                "total": sum(counts.values()), "work": dashboard.my_work(s, p.viewer),
                "due": due, "due_count": due_count, "books": books,
                "bars": dashboard.bar_chart(books.partners), "currencies": CURRENCIES,
                "today": on, "soon_days": dashboard.SOON_DAYS,
                "history": history, "line": charts.line_chart(history, p.lang),
                "ageing": charts.ageing_bars(books, p.lang), "support": support,
                "by_category": by_category, "by_activity": by_activity}
    with api_deps.transaction(request, read_only=True) as s:
        context = go(s)
        return deps.render(request, "dashboard.html", {"p": p, **context}, lang=p.lang)
