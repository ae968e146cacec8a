"""Order form PDFs: time to build one, against the target of 200 ms each.

Builds a SQLite file (make_engine: WAL, synchronous=FULL; migrated; the test world of
tests/factories.py) holding `--orders` orders, each received with a short line so the form has
every section (lines, deliveries, receipts with a discrepancy, claims, three signature
blocks), of `--lines` lines each; then builds each order's form `--repeat` times, alternating
Japanese and Filipino, in one read-only unit of work per form as the API does. The first two
forms (one per language: font subsetting tables, imports) are built untimed. The baseline in
the same run is the order's `order_view` alone (the same reads, no PDF), so the table shows
how much of the time is the layout and the PDF. CPU time (`process_time`) is printed beside
the wall time, which other processes on the machine move much more.

    .venv/bin/python bench/documents.py [--orders 30] [--lines 5] [--repeat 3]
    .venv/bin/python bench/documents.py --lines 80        # multi-page forms
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from decimal import Decimal

from _common import OUT, fresh, home, table, verdict
from tests.factories import D, fuel_line, official, order_to, setup_world

from acsa.db import migrate
from acsa.db.engine import make_engine, unit_of_work
from acsa.documents import forms
from acsa.orders import service as orders
from acsa.orders.domain import ReceiptLineInput

TARGET_MS = 200.0


def build(n_orders: int, n_lines: int) -> tuple[str, list[str]]:
    path = fresh(OUT / "documents.db")
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    numbers = []
    with unit_of_work(engine) as s:
        setup_world(s, home("documents"))
        for i in range(n_orders):
            lines = [fuel_line(qty=str(1000 + 10 * k), price=f"{90 + k % 7}.50")
                     for k in range(n_lines)]
            order = order_to(s, "delivered", lines=lines, on=D(2026, 5, 10) + dt.timedelta(i % 5))
            orders.record_receipt(
                s, number=order.number, by=official("JP", "receiving"),
                on=order.order_on + dt.timedelta(days=2),
                lines={1: ReceiptLineInput(received=Decimal(990), reason="10 L short")})
            numbers.append(order.number)
    engine.dispose()
    return url, numbers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=30)
    ap.add_argument("--lines", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"building {args.orders} orders of {args.lines} line(s) ...", flush=True)
    url, numbers = build(args.orders, args.lines)
    engine = make_engine(url)
    with unit_of_work(engine, read_only=True) as s:  # untimed: imports, fonts, caches
        forms.order_form_pdf(s, numbers[0], lang="ja")
        forms.order_form_pdf(s, numbers[0], lang="fil")
    form_ms, view_ms, cpu_ms, sizes, pages = [], [], [], [], []
    for r in range(args.repeat):
        for i, number in enumerate(numbers):
            lang = ("ja", "fil")[(i + r) % 2]
            t0 = time.perf_counter()
            with unit_of_work(engine, read_only=True) as s:
                orders.order_view(s, orders.get_order(s, number))
            t1, c1 = time.perf_counter(), time.process_time()
            with unit_of_work(engine, read_only=True) as s:
                pdf = forms.order_form_pdf(s, number, lang=lang)
            t2, c2 = time.perf_counter(), time.process_time()
            cpu_ms.append((c2 - c1) * 1000)
            view_ms.append((t1 - t0) * 1000)
            form_ms.append((t2 - t1) * 1000)
            sizes.append(len(pdf))
            pages.append(pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page"))
    engine.dispose()

    def row(name: str, ms: list[float]) -> list[object]:
        ordered = sorted(ms)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        return [name, f"{len(ms):,}", f"{statistics.median(ms):.1f}", f"{p95:.1f}",
                f"{max(ms):.1f}"]

    print()
    print(table(["per order", "count", "median ms", "p95 ms", "max ms"],
                [row("order_view only (baseline)", view_ms), row("order form PDF", form_ms),
                 row("order form PDF, CPU time", cpu_ms)]))
    median = statistics.median(form_ms)
    print(f"\nforms of {args.lines} line(s): {statistics.median(sizes) / 1024:.0f} KiB, "
          f"about {statistics.median(pages):.0f} page object(s); the PDF layout is "
          f"{median / max(statistics.median(view_ms), 1e-9):.1f} x the reads alone")
    print(f"order form median {median:.1f} ms = {median / TARGET_MS:.2f} x the "
          f"{TARGET_MS:.0f} ms target    {verdict(median < TARGET_MS)}")
    cpu = statistics.median(cpu_ms)
    print(f"(CPU time median {cpu:.1f} ms = {cpu / TARGET_MS:.2f} x the target: when it is "
          "far below the wall time, the machine was busy)")


if __name__ == "__main__":
    main()
