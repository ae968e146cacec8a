"""Random delivery always converges (issue #6 items 2, 4 and 6), a hypothesis property on two
SQLite nodes: a random script of lifecycle steps, each taken on the node of the party that
owns it (when that node's own view allows it), a bundle exported after every step; bundles are
delivered in random order, some twice, some lost. At the end each node exports again what the
other has not acknowledged (so the lost ones travel again) until both are quiet, and both
books are the same: orders, states, content hashes, claims and ledger sums, nothing left
waiting, nothing refused. (ACSA_SYNC_EXAMPLES=300 runs a longer search.)"""

from __future__ import annotations

import os
from collections.abc import Callable

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from acsa import errors
from acsa.sync import bundle
from tests.sync import _nodes
from tests.sync._nodes import (  # noqa: F401
    Node,
    accept,
    assert_same_books,
    cancel,
    create,
    deliver,
    dispute,
    make_cluster,
    pay_all,
    receive,
    resolve,
)

# the fixtures of the nodes
world_template = _nodes.world_template

STEPS: dict[str, dict[str, Callable[[Node, str], None]]] = {
    "JP": {"cancel": cancel, "dispute": dispute, "resolve": resolve, "receive": receive,
           "pay": pay_all},
    "PH": {"accept": accept, "deliver": deliver, "cancel": cancel, "dispute": dispute,
           "resolve": resolve},
}

op = st.one_of(
    st.tuples(st.just("create")),
    st.tuples(st.just("step"), st.sampled_from(["JP", "PH"]), st.integers(0, 10),
              st.integers(0, 2)),
    st.tuples(st.just("deliver"), st.integers(0, 1000), st.booleans()),
    st.tuples(st.just("lose"), st.integers(0, 1000)),
)


@settings(max_examples=int(os.environ.get("ACSA_SYNC_EXAMPLES", "15")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(script=st.lists(op, min_size=4, max_size=22))
def test_random_order_duplication_and_loss_converge(world_template, tmp_path_factory, request,
                                                   script):
    c = make_cluster("sqlite", world_template("sqlite", request),
                     tmp_path_factory.mktemp("prop"))
    try:
        nodes = {"JP": c["JP"], "PH": c["PH"]}
        numbers: list[str] = []
        in_flight: list[tuple[str, bytes]] = []  # (addressee, bundle)
        log = []
        for o in script:
            if o[0] == "create" or (o[0] == "step" and not numbers):
                numbers.append(create(nodes["JP"]))
                log.append(f"JP creates {numbers[-1]}")
                sender, to = "JP", "PH"
            elif o[0] == "step":
                _, party, which, k = o
                n = nodes[party]
                names = sorted(STEPS[party])
                name = names[which % len(names)]
                number = numbers[k % len(numbers)]
                try:
                    STEPS[party][name](n, number)
                except errors.AcsaError as e:
                    log.append(f"{party} cannot {name} {number}: {e.code}")
                    continue
                log.append(f"{party} {name} {number}")
                sender, to = party, "PH" if party == "JP" else "JP"
            elif o[0] == "deliver":
                if not in_flight:
                    continue
                i = o[1] % len(in_flight)
                to, raw = in_flight[i] if o[2] else in_flight.pop(i)
                try:
                    r = nodes[to].import_(raw)
                    log.append(f"to {to}: applied {r.applied} pending {r.pending} "
                               f"superseded {r.superseded} refused {r.quarantined}")
                except errors.BundleReplayed:
                    log.append(f"to {to}: replay refused")
                continue
            else:
                if in_flight:
                    in_flight.pop(o[1] % len(in_flight))
                    log.append("a bundle is lost")
                continue
            in_flight.append((to, bundle.dumps(nodes[sender].export(to))))
        # back in reach: each side sends what the other has not acknowledged, until quiet
        for _ in range(3):
            for a, b in (("JP", "PH"), ("PH", "JP")):
                r = nodes[b].import_(nodes[a].export(b))
                log.append(f"drain to {b}: applied {r.applied} pending {r.pending} "
                           f"superseded {r.superseded} refused {r.quarantined}")
        note("\n".join(log))
        for n in nodes.values():
            refused = [(q.event_id, q.error, q.reason) for q in n.quarantined()
                       if q.error != "BundleReplayed"]  # a duplicate delivery, refused whole
            assert not refused
            assert "pending" not in n.inbox().values()
        jp_book = assert_same_books(nodes["JP"], nodes["PH"])
        assert set(jp_book["orders"]) == set(numbers)
        # and nothing more to send either way
        assert nodes["JP"].export("PH")["count"] == 0
        assert nodes["PH"].export("JP")["count"] == 0
    finally:
        c.close()
