"""The bundle file: a JSON document of signed events from one node to another.

    {"format": "acsa-bundle/1", "bundle_id", "from", "to", "created_at", "range": [a, b],
     "acks": {party: seq}, "count", "events_sha256", "events": [...], "key", "sig"}

Each event is signed on its own (so it can be checked wherever it is kept); the header's
signature covers every header field, and through `events_sha256` every event, so a bundle
that was cut short, reordered or altered is refused whole. `range` says the bundle holds every
event of the sender for the addressee with a seq in (a, b]: how the receiver knows it is
missing nothing (see `service.acknowledged`)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from acsa import errors
from acsa.audit.chain import canonical_json

FORMAT = "acsa-bundle/1"
MAX_BYTES = 512 * 1024 * 1024
EVENT_FIELDS = ("id", "origin", "seq", "kind", "subject", "to", "deps", "at", "actor", "body",
                "key")
HEADER_FIELDS = ("format", "bundle_id", "from", "to", "created_at", "range", "acks", "count",
                 "events_sha256", "key")


# the type each field must have (the signatures cover the values, not their types: a sender's
# bug or a hostile sender must get a named refusal, not a traceback deep in the import)
HEADER_TYPES = {"bundle_id": str, "from": str, "to": str, "created_at": str, "range": list,
                "acks": dict, "events_sha256": str, "key": str, "sig": str}
EVENT_TYPES = {"id": str, "origin": str, "kind": str, "subject": str, "to": str, "deps": list,
               "at": str, "actor": str, "body": dict, "key": str, "sig": str}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_types(data: dict[str, Any], types: dict[str, type], what: str) -> None:
    for name, kind in types.items():
        if not isinstance(data[name], kind):
            raise errors.BundleInvalid(f"{what} field {name!r} is not a "
                                       f"{'text' if kind is str else kind.__name__}")


def _check_seqs(events: list[dict[str, Any]], a: int, b: int) -> None:
    """The events' seqs against the range (a, b] the bundle vouches for: each after `a`, in
    the order the sender made them and each once (two events with one seq are two versions of
    one event: the receiver would keep the first, drop the other unseen and acknowledge it),
    and none after `b` unless the range is empty (a == b: a partial bundle, which vouches for
    no range and may carry any later events). A sender's export never makes another bundle."""
    last = a
    for i, e in enumerate(events):
        seq = e["seq"]
        if seq <= a or (a < b < seq):
            raise errors.BundleInvalid(
                f"event {i + 1} of the bundle ({e['id']}): its seq {seq} is outside the "
                f"bundle's range ({a}, {b}]", field="seq")
        if seq <= last:
            raise errors.BundleInvalid(
                f"event {i + 1} of the bundle ({e['id']}): its seq {seq} "
                + ("repeats an earlier event's" if any(x["seq"] == seq for x in events[:i])
                   else "comes after a later one's")
                + ": a bundle holds each seq once, in order", field="seq")
        last = seq


def event_bytes(event: dict[str, Any]) -> bytes:
    """What an event's signature covers: every field but `sig`, canonical JSON."""
    return canonical_json({k: event[k] for k in EVENT_FIELDS}).encode("utf-8")


def events_digest(events: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for e in events:
        h.update(canonical_json(e).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def header_bytes(bundle: dict[str, Any]) -> bytes:
    return canonical_json({k: bundle[k] for k in HEADER_FIELDS}).encode("utf-8")


def dumps(bundle: dict[str, Any]) -> bytes:
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse(raw: bytes) -> dict[str, Any]:
    """The bundle's structure, checked: format, fields, count and events digest. Signatures are
    checked by the caller, which knows the keys."""
    if len(raw) > MAX_BYTES:
        raise errors.BundleInvalid(f"the bundle is {len(raw):,} bytes; the limit is "
                                   f"{MAX_BYTES:,}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise errors.BundleInvalid(f"the bundle is not a complete JSON document ({e}): it was "
                                   "cut short or damaged") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise errors.BundleInvalid(f"not an acsa bundle (format is not {FORMAT})")
    missing = [k for k in (*HEADER_FIELDS, "events", "sig") if k not in data]
    if missing:
        raise errors.BundleInvalid(f"the bundle lacks {', '.join(missing)}")
    events = data["events"]
    if not isinstance(events, list) or len(events) != data["count"]:
        raise errors.BundleInvalid(
            f"the bundle says it holds {data['count']} events but holds "
            f"{len(events) if isinstance(events, list) else 'none'}: it was cut short or altered")
    _check_types(data, HEADER_TYPES, "the bundle's")
    if not _is_int(data["count"]):
        raise errors.BundleInvalid("the bundle's count is not a whole number")
    a_b = data["range"]
    if not (isinstance(a_b, list) and len(a_b) == 2 and all(_is_int(x) for x in a_b)
            and 0 <= a_b[0] <= a_b[1]):
        raise errors.BundleInvalid("the bundle's range is not a pair of sequence numbers "
                                   "[a, b] with 0 <= a <= b")
    if not all(isinstance(k, str) and _is_int(v) for k, v in data["acks"].items()):
        raise errors.BundleInvalid("the bundle's acks are not party -> sequence number")
    for i, e in enumerate(events):
        if not isinstance(e, dict) or any(k not in e for k in (*EVENT_FIELDS, "sig")):
            raise errors.BundleInvalid(f"event {i + 1} of the bundle is incomplete")
        _check_types(e, EVENT_TYPES, f"event {i + 1} of the bundle: its")
        if not _is_int(e["seq"]) or e["seq"] < 1:
            raise errors.BundleInvalid(f"event {i + 1} of the bundle: its seq is not a "
                                       "positive whole number")
        if not all(isinstance(d, str) for d in e["deps"]):
            raise errors.BundleInvalid(f"event {i + 1} of the bundle: its deps are not event "
                                       "ids")
    _check_seqs(events, a_b[0], a_b[1])
    if events_digest(events) != data["events_sha256"]:
        raise errors.BundleInvalid("the events do not match the bundle's digest: the bundle "
                                   "was altered after it was signed")
    return data
