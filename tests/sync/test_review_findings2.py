"""Second review of src/acsa/sync (bundle, apply, service): each test fails on the code as
reviewed and passes once the defect named in its docstring is fixed. SQLite and PostgreSQL,
with the node pairs of tests/sync/_nodes.py."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from acsa import errors
from tests.sync import _nodes
from tests.sync._nodes import Node, crafted, create, event, seal
from tests.sync.test_review_findings import last_seq

# the fixtures of the nodes
cluster = _nodes.cluster
sync_backend = _nodes.sync_backend
world_template = _nodes.world_template


def _fresh(jp: Node, ph: Node) -> dict:
    """A genuine JP bundle for PH holding a new order of JP (created and requested)."""
    last = last_seq(jp)
    create(jp)
    data = jp.export(ph, since=last)
    assert [e["kind"] for e in data["events"]] == ["order.created", "order.requested"]
    assert data["range"] == [last, last + 2]
    return data


# --- 1. an event's seq against the bundle's range ----------------------------------------------
@pytest.mark.parametrize("case", ["after_range", "before_range", "duplicate", "out_of_order"])
def test_event_seqs_must_fit_the_bundles_range(cluster, case):
    """bundle.py (`parse`): the seqs of the events were never checked against the range the
    signed header vouches for, nor against each other. A bundle saying (a, b] carried events
    past b or at or before a, and two events with one seq were taken as the first plus a
    "duplicate" dropped unseen while the range acknowledged it. Such a bundle is refused whole
    (`BundleInvalid`, field `seq`), nothing stored."""
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    data = _fresh(jp, ph)
    a, b = data["range"]
    created, requested = data["events"]
    if case == "after_range":  # says (a, b-1] and carries b
        data["range"] = [a, b - 1]
    elif case == "before_range":  # says (a+1, b] and carries a+1
        data["range"] = [a + 1, b]
    elif case == "duplicate":  # a second, different JP:b
        other = json.loads(json.dumps(requested))
        other["body"]["on"] = "2026-05-11"
        data["events"] = [created, requested, other]
    else:
        data["events"] = [requested, created]
    data = seal(data, jp.signer(), resign_events=True)  # genuinely signed by JP
    before = ph.counts()
    seen = len(ph.quarantined())
    with pytest.raises(errors.BundleInvalid) as e:
        ph.import_(data)
    assert e.value.field == "seq"
    assert ph.counts() == before
    assert [q.error for q in ph.quarantined()[seen:]] == ["BundleInvalid"]


# --- 3. an acknowledgement past our last event -------------------------------------------------
@pytest.mark.parametrize("via", ["bundle", "pull"])
def test_an_acknowledgement_past_our_last_event_loses_nothing(cluster, via):
    """service.py (`_record_progress`, `record_ack`): a partner's acknowledgement (a bundle's
    `acks`, a pull's `acked`) was recorded whatever its value. One past our last event (a
    partner's bug) made every later export start after it: the bundle's range [ack, head] was
    then refused by the partner as not a range, and the events we made up to the ack would
    never have been sent. It is cut to our last event."""
    from acsa.sync import service as sync

    c = cluster()
    jp, ph = c["JP"], c["PH"]
    if via == "bundle":
        data = crafted(ph, "JP", [])
        data["acks"] = {"JP": 10**6}
        jp.import_(seal(data, ph.signer()))
    else:
        with jp.session() as s:
            sync.record_ack(s, "PH", 10**6)
    number = create(jp)
    jp.send(ph)
    assert ph.order(number).state == "requested"


# --- 4. an event committed while a bundle is being exported --------------------------------
@pytest.mark.parametrize("sync_backend", ["postgres"], indirect=True)
def test_an_event_made_during_an_export_is_not_acknowledged_unsent(cluster, monkeypatch):
    """service.py (`export`): the events were read first and the range's end (our last seq)
    afterwards, in another statement. On PostgreSQL (READ COMMITTED) an event another
    transaction commits in between (an official acting while `acsa serve` answers a pull) was
    inside the range but not in the bundle: the partner acknowledged it, and it was never
    sent. The range now ends at the last seq as the events were read. (SQLite's export holds
    the write lock from its first statement: nothing commits in between.)"""
    from acsa.sync import bundle

    c = cluster()
    jp, ph = c["JP"], c["PH"]
    create(jp)
    made: list[str] = []
    sign = bundle.event_bytes

    def sign_while_jp_acts(e):
        if not made:  # while the export signs its first event, JP makes another order
            made.append(create(jp))
        return sign(e)

    monkeypatch.setattr(bundle, "event_bytes", sign_while_jp_acts)
    data = jp.export(ph)
    monkeypatch.setattr(bundle, "event_bytes", sign)
    assert made
    assert data["range"][1] == max(e["seq"] for e in data["events"])
    ph.import_(data)
    ph.send(jp)  # PH acknowledges what it holds
    jp.send(ph)
    assert ph.order(made[0]).state == "requested"


# --- 5. an export after a seq we have not made -------------------------------------------------
@pytest.mark.parametrize("since", [-1, "head+1"])
def test_an_export_since_a_seq_we_have_not_made_is_refused(cluster, since):
    """service.py (`export`): `acsa sync export --since N` (and a partner's pull with `since`)
    with N past our last event, or negative, made a signed bundle whose range [N, head] the
    partner could only refuse as not a range (`BundleInvalid`), naming no cause the sender
    could act on. The export is refused (`InvalidInput`, field `since`), nothing recorded."""
    from acsa.sync.models import BundleSeen

    c = cluster()
    jp, ph = c["JP"], c["PH"]
    create(jp)
    n = last_seq(jp) + 1 if since == "head+1" else since
    with jp.session() as s:
        sent = len(list(s.scalars(select(BundleSeen))))
    with pytest.raises(errors.InvalidInput) as e:
        jp.export(ph, since=n)
    assert e.value.field == "since"
    with jp.session() as s:
        assert len(list(s.scalars(select(BundleSeen)))) == sent
    assert jp.export(ph, since=last_seq(jp))["count"] == 0  # up to our last: an empty bundle


# --- 6. a third party's activity under an agreement it is not party to -------------------------
def test_partner_cannot_add_an_activity_under_an_agreement_it_is_not_party_to(cluster):
    """apply.py (`check_owner`): `activity.added` is shared reference data ("any"), and only
    `rate.added` had its agreement checked. US's node could add an activity under PHJP, an
    agreement between PH and JP only, on JP's node, which JP's and PH's orders under PHJP could
    then name as their activity. Refused with `NotOwner` (field `agreements`); an activity US
    adds under an agreement it is party to still goes in."""
    from acsa.activities.models import Activity

    c = cluster(("JP", "PH", "US"))
    jp, us = c["JP"], c["US"]
    body = {"name": "Exercise", "type": "exercise", "place": "Okinawa",
            "starts_on": "2026-05-01", "ends_on": "2026-06-30"}
    theirs = event("US", 1, "activity.added", "activity:US-X1", "*",
                   {**body, "code": "US-X1", "agreements": ["JPUS", "PHJP"]}, actor="us-admin")
    own = event("US", 2, "activity.added", "activity:US-X2", "*",
                {**body, "code": "US-X2", "agreements": ["JPUS"]}, actor="us-admin")
    r = jp.import_(crafted(us, "JP", [theirs, own], rng=(0, 2)))
    assert [(q["event"], q["error"]) for q in r.quarantined] == [("US:1", "NotOwner")]
    assert r.applied == ["US:2"]
    with jp.session() as s:
        assert s.scalar(select(Activity).where(Activity.code == "US-X1")) is None
        assert s.scalar(select(Activity).where(Activity.code == "US-X2")) is not None


# --- 7. two imports applying the same pending events at once -----------------------------------
@pytest.mark.parametrize("sync_backend", ["postgres"], indirect=True)
def test_two_runs_of_the_pending_events_at_once_apply_each_once(cluster, monkeypatch):
    """service.py (`run_pending`, `_prepare_batch`): every import applies every pending event
    of the inbox, whoever sent it, and on PostgreSQL two imports at once (two partners pushing
    to `acsa serve`, or a push while `acsa sync import` runs) both read the same events as
    pending; each applied them. The second application of an order's creation was refused
    (`AlreadyExists`) and the event, applied by the other, was quarantined and taken out of
    the inbox: what builds on it would wait for ever (a payment applied twice the same way).
    Each batch now locks its events: the other run waits, then finds them applied."""
    import threading

    from acsa.sync import service as sync

    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = create(jp)
    prepare, other = sync._prepare_batch, []

    def prepare_then_race(s, ids):
        prepare(s, ids)
        if not other:  # with this batch loaded, another run applies the same events
            t = threading.Thread(target=sync.run_pending, args=(ph.engine,))
            other.append(t)
            t.start()
            t.join(timeout=8)  # it finishes, or waits for this batch to commit

    monkeypatch.setattr(sync, "_prepare_batch", prepare_then_race)
    seen = len(ph.quarantined())
    r = ph.import_(jp.export(ph))
    other[0].join(timeout=60)
    assert not other[0].is_alive()
    assert ph.quarantined()[seen:] == [], [q.reason for q in ph.quarantined()[seen:]]
    assert set(ph.inbox().values()) == {"applied"} and len(ph.inbox()) == 2
    assert ph.order(number).state == "requested"
    assert not r.quarantined
