"""Importing a partner's bundle, against the raw rate of verifying the same Ed25519 signatures.

Builds two SQLite nodes seeded alike (tests/factories.py `setup_world`): Japan's and the
Philippines'. On Japan's node, --orders orders are created and requested through the services
(two events each: `order.created`, `order.requested`), and the node exports them as one signed
bundle for the Philippines. Then, in this one process:
  * acsa: `acsa.sync.service.import_bundle` on the Philippines' node: parse, check the bundle's
    and every event's signature, store, and apply each event through the order services in
    its own transaction (with the check of the resulting order hash);
  * baseline: `Ed25519PublicKey.verify` of the same events' signatures over the same bytes,
    nothing else.
Target: import at least a third of the bare verifying rate (events/second).

    .venv/bin/python bench/sync_import.py [--orders 50000]   # 100,000 events
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time

from _common import OUT, fresh, home, rate, table, verdict
from sqlalchemy.orm import Session
from tests import factories

from acsa.db import migrate
from acsa.db.base import utcnow
from acsa.db.engine import make_engine
from acsa.orders import service as orders
from acsa.sync import bundle, keys, node
from acsa.sync import service as sync
from acsa.sync.models import NodeKey

TARGET = 1 / 3
PASS = "bench passphrase"


def _node(party: str, folder_home: object) -> object:
    path = fresh(OUT / f"sync-{party.lower()}.db")
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with Session(engine) as s, s.begin():
        factories.setup_world(s, folder_home)  # type: ignore[arg-type]
        node.set_party(s, party)
    return engine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=50_000,
                    help="orders made on the sending node (two events each)")
    args = ap.parse_args()
    os.environ[keys.PASSPHRASE_ENV] = PASS
    h = home("sync-import")
    jp, ph = _node("JP", h), _node("PH", h)
    public = {}
    for party, engine in (("JP", jp), ("PH", ph)):
        pub, pem = keys.generate(PASS)
        public[party] = pub
        with Session(engine) as s, s.begin():  # type: ignore[arg-type]
            s.add(NodeKey(fingerprint=keys.fingerprint(pub), party=party, own=True,
                          public_key=pub, private_pem=pem, status="active",
                          created_at=utcnow()))
    for other, engine in (("PH", jp), ("JP", ph)):
        with Session(engine) as s, s.begin():  # type: ignore[arg-type]
            s.add(NodeKey(fingerprint=keys.fingerprint(public[other]), party=other,
                          own=False, public_key=public[other], agreement_code="PHJP",
                          status="active", created_at=utcnow()))

    t0 = time.perf_counter()
    on = dt.date(2026, 5, 10)
    batch = 500
    for start in range(0, args.orders, batch):
        with Session(jp) as s, s.begin():  # type: ignore[arg-type]
            for _ in range(min(batch, args.orders - start)):
                o = factories.draft(s, on=on)
                orders.request_order(s, number=o.number, by="jp-requesting", on=on)
        print(f"\r  making orders on the JP node: {min(start + batch, args.orders):,}",
              end="", file=sys.stderr)
    with Session(jp) as s, s.begin():  # type: ignore[arg-type]
        data = sync.export(s, to="PH")
    raw = bundle.dumps(data)
    made = time.perf_counter() - t0
    n = data["count"]
    print(f"\n  {n:,} events, bundle {len(raw) / 1e6:,.1f} MB, made in {made:,.0f} s",
          file=sys.stderr)

    # baseline: the bare verifying of the same events' signatures
    pk = keys.public_key(public["JP"])
    signed = [(bytes.fromhex(e["sig"]), bundle.event_bytes(e)) for e in data["events"]]
    t0 = time.perf_counter()
    for sig, msg in signed:
        pk.verify(sig, msg)
    bare = time.perf_counter() - t0

    t0, c0 = time.perf_counter(), time.process_time()
    result = sync.import_bundle(ph, raw)  # type: ignore[arg-type]
    took, took_cpu = time.perf_counter() - t0, time.process_time() - c0
    assert len(result.applied) == n and not result.quarantined and not result.pending, \
        (len(result.applied), result.quarantined[:3], result.pending[:3])
    with Session(jp) as a, Session(ph) as b:  # type: ignore[arg-type]
        last = data["events"][-1]["subject"]
        assert orders.get_order(a, last).content_hash == orders.get_order(b, last).content_hash
    ratio = (n / took) / (n / bare)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(table(["", "events", "seconds", "rate", "vs bare verify", "target", ""], [
        ["bare Ed25519 verify", f"{n:,}", f"{bare:.2f}", rate(n, bare), "1.00x", "", ""],
        ["acsa sync import", f"{n:,}", f"{took:.2f}", rate(n, took), f"{ratio:.3f}x",
         f">= {TARGET:.2f}x", verdict(ratio >= TARGET)],
    ]))
    print(f"CPU time of the import (user + system; a busy machine moves it less than wall "
          f"time): {took_cpu:.2f} s, {n / took_cpu:,.0f} events per CPU second")
    print(f"peak memory (whole process) {peak:,.0f} MB")
    print(json.dumps({"events": n, "import_s": round(took, 3), "import_cpu_s": round(took_cpu, 3),
                      "verify_s": round(bare, 3),
                      "ratio": round(ratio, 4)}))


if __name__ == "__main__":
    main()
