"""Audit packs: one zip an auditor can check offline, for one order or a whole activity.

A pack holds, per order, its data as hashed (`order.json`), its bilingual order form and the
stored bytes of every source document of its deliveries; once for the pack, the audit events
of those orders and their offsets (`events.jsonl`, with every field the hash chain needs);
`SHA256SUMS` for `sha256sum -c`; a `README.txt`; and `manifest.json`, which lists every other
file with its SHA-256 and size, the scope, the producer and the chain head. docs/audit-pack.md
describes the layout and exactly what `verify_pack` proves and what it cannot.

Building reads the database (`write_pack`); verifying (`verify_pack`) touches no database and
imports nothing that would open one; `compare_with_database` is the optional check of a pack's
events against a database's chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import socket
import stat
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from acsa import __version__, errors
from acsa.audit import chain

FORMAT = "acsa-audit-pack"
VERSION = 1
MANIFEST, README, SUMS, EVENTS = "manifest.json", "README.txt", "SHA256SUMS", "events.jsonl"
EVENT_FIELDS = ("seq", "at", "party", "actor", "action", "subject", "order_hash", "payload",
                "prev_hash", "hash", "body")
# an order form's verification code (acsa.documents.forms_data): ACSA1:ORDER:NUMBER:HASH
PAYLOAD_RE = re.compile(
    r"ACSA1:ORDER:(?P<number>[A-Za-z0-9][A-Za-z0-9._-]{0,79}):(?P<hash>[0-9a-f]{64})")
CHUNK = 1024 * 1024


class PackUnreadable(errors.InvalidInput):
    """The file is not a zip at all (or not one that can be opened)."""

    hint = "Give the .zip written by `acsa audit pack` (or downloaded from the API)."


class PackFailed(errors.IntegrityError):
    hint = ("Do not rely on this pack: ask its producer for a fresh copy and compare the "
            "manifest's SHA-256 with the one they recorded when they made it.")


@dataclass(frozen=True)
class Limits:
    """What a verifier reads before refusing: a pack is checked by streaming, and these stop a
    crafted zip from making it read without end."""

    entries: int = 200_000
    manifest_bytes: int = 64 * 1024 * 1024
    file_bytes: int = 2 * 1024 * 1024 * 1024
    total_bytes: int = 32 * 1024 * 1024 * 1024
    line_bytes: int = 8 * 1024 * 1024
    problems: int = 50


LIMITS = Limits()


# --- layout ----------------------------------------------------------------------------------
def safe_name(name: str, fallback: str = "document") -> str:
    """A file name that is one path segment, portable and readable: the last segment of
    `name`, NFC, with anything but letters, digits, '.', '-' and '_' made '_'."""
    last = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in last).lstrip(".")
    if not cleaned.strip("_"):
        return fallback
    if len(cleaned) > 120:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = (stem[:110] + dot + ext[:9]) if dot and len(ext) <= 9 else cleaned[:120]
    return cleaned


def order_dir(number: str) -> str:
    return f"orders/{safe_name(number, 'order')}"


def form_path(number: str, lang: str) -> str:
    return f"{order_dir(number)}/order-form-{lang}.pdf"


def document_path(number: str, delivery_no: int, filename: str) -> str:
    return f"{order_dir(number)}/documents/delivery-{delivery_no:03d}-{safe_name(filename)}"


def unsafe_reason(name: str) -> str | None:
    """Why a zip entry name could escape the folder it is extracted to (zip-slip), or None."""
    if not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if "\\" in name:
        return "backslash in the path"
    if any(ord(c) < 32 for c in name):
        return "control character in the path"
    parts = name.split("/")
    if any(p in ("..", ".") for p in parts):
        return "'..' or '.' in the path"
    if any(p == "" for p in parts[:-1]):
        return "empty path segment"
    return None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json_bytes(data: Any, *, indent: int | None = 2) -> bytes:
    return (json.dumps(data, indent=indent, sort_keys=True, ensure_ascii=False, default=str)
            + "\n").encode("utf-8")


def event_line(row: dict[str, Any]) -> bytes:
    """One event as a JSON line: the stored fields, and the canonical body they make."""
    data = {k: row[k] for k in EVENT_FIELDS if k != "body"}
    data["body"] = chain.body(row["seq"], row["at"], row["party"], row["actor"], row["action"],
                              row["subject"], row["order_hash"], row["payload"])
    return (json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            + "\n").encode("utf-8")


README_TEXT = """\
ACSA AUDIT PACK ({scope})
Made {created_at} by {producer}. Format {format} version {version}.

What is in it
  manifest.json            every other file with its SHA-256 and size, the scope, who made
                           the pack, and the audit chain head (seq and hash) when it was made
  SHA256SUMS               the same hashes, in the format `sha256sum -c` reads
  events.jsonl             the audit events of the orders (and of their claims, settlements
                           and offsets), oldest first, one JSON object per line
  orders/NUMBER/order.json the order's data elements exactly as hashed (its content hash)
  orders/NUMBER/order-form-LANG.pdf   the bilingual order and receipt form
  orders/NUMBER/documents/            the source documents of the deliveries, byte for byte

Checking it by hand (no acsa needed)
  1. Note the SHA-256 of manifest.json and compare it with the one the producer recorded
     when the pack was made (printed by `acsa audit pack`, and sent by the API in the
     X-Manifest-SHA256 header):        sha256sum manifest.json
  2. Unzip into an empty folder and check every file:
         unzip PACK.zip -d pack && cd pack && sha256sum -c SHA256SUMS
     and check that SHA256SUMS lists the same files and hashes as manifest.json "files".
  3. Each line of events.jsonl carries "body": the fields seq, at, party, actor, action,
     subject, order_hash and payload joined by the unit separator (0x1F). Its hash is
         SHA-256( prev_hash + 0x1F + body )   as lowercase hex, e.g. with jq:
         jq -j 'select(.seq == 7) | .prev_hash + "\\u001f" + .body' events.jsonl | sha256sum
     which must print the event's "hash". Where two events of the pack are consecutive
     (seq n and n+1), the later one's prev_hash must be the earlier one's hash.
  4. order.json: the SHA-256 of the snapshot written as compact JSON with sorted keys
     (separators "," and ":", UTF-8, no ASCII escaping) is the order's content hash; it
     appears as "order_hash" in the order's events. A field listed under "redacted" is
     withheld from this party's pack, and then that hash cannot be recomputed.
  5. The document files' SHA-256 appear as "document" in the order's "order.delivered"
     events; the order form's PDF subject (and QR code) carries
     ACSA1:ORDER:NUMBER:CONTENT_HASH.
Or run, with no database needed:   acsa audit verify-pack PACK.zip

What this does not prove
  The pack carries no signature: these checks show that the pack is whole and consistent
  with itself. That its events are those of the producer's audit chain is shown by comparing
  them with the chain itself (`acsa audit verify-pack PACK.zip --against-db` on a copy of the
  database, or the events API), or the chain head with a head recorded independently.
"""


# --- building --------------------------------------------------------------------------------
@dataclass
class PackSummary:
    """What was written: enough to report, and the fingerprint to record."""

    scope: dict[str, Any]
    manifest_sha256: str
    created_at: str
    chain_head: dict[str, Any]
    orders: list[str]
    files: int
    bytes: int
    events: int
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "manifest_sha256": self.manifest_sha256,
                "created_at": self.created_at, "chain_head": self.chain_head,
                "orders": self.orders, "files": self.files, "bytes": self.bytes,
                "events": self.events, "warnings": self.warnings}


def _form_generator() -> Any:
    """`acsa.documents.forms.order_form_pdf`, or None where this acsa has no form generator."""
    try:
        from acsa.documents.forms import order_form_pdf
    except ModuleNotFoundError as e:
        if e.name not in ("acsa.documents.forms", "acsa.documents"):
            raise
        return None
    except ImportError:  # the module is there but does not (yet) define the function
        return None
    return order_form_pdf


def _consistent_reads(session: Any) -> None:
    """Every read of the pack sees one moment of the database. SQLite's transaction already
    does; on PostgreSQL this must be the transaction's first statement."""
    from sqlalchemy import text
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))


def _scope_orders(session: Any, *, order: str | None, activity: str | None,
                  viewer_party: str | None) -> tuple[dict[str, Any], list[Any]]:
    from sqlalchemy import or_, select

    from acsa.activities import service as activities
    from acsa.agreements import service as agreements
    from acsa.orders import service as orders
    from acsa.orders.models import Order

    if (order is None) == (activity is None):
        raise errors.InvalidInput("name exactly one order or one activity",
                                  hint="Give --order NUMBER or --activity CODE.")
    if order is not None:
        found = orders.get_order(session, order, viewer_party=viewer_party)
        return {"kind": "order", "order": found.number}, [found]
    act = activities.get_activity(session, activity or "")
    stmt = select(Order).where(Order.activity_id == act.id)
    if viewer_party is not None:
        own = {a.code for _, a in agreements.list_for_party(session, viewer_party)}
        if not own & {r.code for r in act.agreements}:
            raise errors.NotFound(f"no activity {activity!r}", field="activity")
        stmt = stmt.where(or_(Order.requesting_party == viewer_party,
                              Order.supplying_party == viewer_party))
    found_all = list(session.scalars(stmt.order_by(Order.number)))
    return {"kind": "activity", "activity": act.code}, found_all


class _Writer:
    """Entries into the zip in a fixed order with fixed metadata, each hashed as written."""

    def __init__(self, target: IO[bytes], when: dt.datetime) -> None:
        self.zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED,
                                   compresslevel=6)
        self.when = max(when, dt.datetime(1980, 1, 1, tzinfo=dt.UTC)).timetuple()[:6]
        self.files: list[dict[str, Any]] = []

    def add(self, path: str, data: bytes, *, listed: bool = True) -> dict[str, Any]:
        if unsafe_reason(path):  # names come from safe_name: this would be a bug here
            raise ValueError(f"unsafe entry name {path!r}")
        info = zipfile.ZipInfo(path, date_time=self.when)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = (stat.S_IFREG | 0o644) << 16
        self.zip.writestr(info, data)
        entry = {"path": path, "sha256": _sha(data), "size": len(data)}
        if listed:
            self.files.append(entry)
        return entry


def write_pack(session: Any, target: IO[bytes], *, order: str | None = None,
               activity: str | None = None, lang: str = "ja", viewer_party: str | None = None,
               user: str | None = None, now: dt.datetime | None = None) -> PackSummary:
    """Write the audit pack of one order or one activity into `target` (a binary file open for
    writing). With `viewer_party`, only that party's orders, and nothing internal to the other
    party; without, everything (the operator's pack). Call it first in its transaction: on
    PostgreSQL it sets the transaction's isolation so the pack is one moment of the books."""
    from sqlalchemy import select

    from acsa.audit.models import Event
    from acsa.settlement.models import Claim, OffsetItem
    from acsa.settlement.models import Offset as OffsetDoc

    if lang not in ("ja", "fil"):
        raise errors.InvalidInput(f"unknown form language {lang!r}", field="lang",
                                  hint="Use ja (English and Japanese) or fil (English and "
                                  "Filipino).")
    _consistent_reads(session)
    scope, found = _scope_orders(session, order=order, activity=activity,
                                 viewer_party=viewer_party)
    scope.update({"viewer_party": viewer_party, "lang": lang,
                  "orders": [o.number for o in found]})
    created = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    created_at = created.isoformat(timespec="seconds").replace("+00:00", "Z")
    warnings: list[str] = []
    make_form = _form_generator()
    if make_form is None:
        warnings.append("order forms omitted: this acsa has no order form generator "
                        "(acsa.documents.forms)")

    head_row = session.execute(select(Event.seq, Event.hash).order_by(Event.seq.desc())
                               .limit(1)).first()
    head = {"seq": head_row[0], "hash": head_row[1]} if head_row else \
        {"seq": 0, "hash": chain.GENESIS}
    ids = [o.id for o in found]
    offsets = sorted(set(session.scalars(
        select(OffsetDoc.number).join(OffsetItem, OffsetItem.offset_id == OffsetDoc.id)
        .join(Claim, Claim.id == OffsetItem.claim_id).where(Claim.order_id.in_(ids))))) \
        if ids else []
    subjects = [o.number for o in found] + [f"offset:{n}" for n in offsets]
    cols = [getattr(Event, k) for k in EVENT_FIELDS if k != "body"]
    events = [dict(r._mapping) for r in session.execute(
        select(*cols).where(Event.subject.in_(subjects), Event.seq <= head["seq"])
        .order_by(Event.seq))] if subjects else []

    producer = {"software": f"acsa {__version__}", "node": socket.gethostname(),
                "party": viewer_party, "user": user,
                "database": session.get_bind().dialect.name}
    label = scope.get("order") or f"activity {scope.get('activity')}"
    w = _Writer(target, created)
    # entries go in path order as they are made, so a document is in memory only while written
    w.add(README, README_TEXT.format(
        scope=label, created_at=created_at, format=FORMAT, version=VERSION,
        producer=f"{producer['software']} on {producer['node']}"
        + (f" for party {viewer_party}" if viewer_party else " (operator)")).encode("utf-8"))
    w.add(EVENTS, b"".join(event_line(e) for e in events))
    order_entries: list[dict[str, Any]] = []
    for o in sorted(found, key=lambda o: order_dir(o.number)):
        order_entries.append(_add_order(session, w, o, events, lang=lang,
                                        viewer_party=viewer_party, make_form=make_form))
    sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in w.files)
    w.add(SUMS, sums.encode("utf-8"))
    manifest = {
        "format": FORMAT, "version": VERSION, "created_at": created_at, "scope": scope,
        "produced_by": producer, "chain_head": head,
        "events": {"path": EVENTS, "count": len(events),
                   "seqs": [e["seq"] for e in events]},
        "orders": order_entries, "offsets": offsets, "warnings": warnings,
        "files": sorted(w.files, key=lambda f: f["path"])}
    data = _json_bytes(manifest)
    w.add(MANIFEST, data, listed=False)
    w.zip.close()
    return PackSummary(scope=scope, manifest_sha256=_sha(data), created_at=created_at,
                       chain_head=head, orders=[o.number for o in found],
                       files=len(w.files) + 1, bytes=sum(f["size"] for f in w.files) + len(data),
                       events=len(events), warnings=warnings)


def _add_order(session: Any, w: _Writer, o: Any, events: list[dict[str, Any]], *, lang: str,
               viewer_party: str | None, make_form: Any) -> dict[str, Any]:
    """One order's files, in path order (documents, form, order.json); its manifest entry."""
    from sqlalchemy import select

    from acsa.orders import service as orders
    from acsa.orders.models import Document

    entry: dict[str, Any] = {
        "number": o.number, "agreement": o.agreement_code, "state": o.state,
        "requesting_party": o.requesting_party, "supplying_party": o.supplying_party,
        "content_hash": o.content_hash, "order": f"{order_dir(o.number)}/order.json",
        "form": None, "documents": [],
        "events": [e["seq"] for e in events if e["subject"] == o.number]}
    for k, d in enumerate(o.deliveries, start=1):
        doc = session.get(Document, d.document_sha256)
        content = session.execute(select(Document.content).where(
            Document.sha256 == d.document_sha256)).scalar_one()
        if _sha(content) != d.document_sha256:
            raise errors.IntegrityError(
                f"stored source document {d.document_sha256} of {o.number} does not match "
                "its SHA-256: it was altered in the database",
                hint="Restore the document from a backup; no pack was written.")
        path = document_path(o.number, k, doc.filename)
        w.add(path, content)
        entry["documents"].append({
            "path": path, "sha256": d.document_sha256, "size": len(content),
            "filename": doc.filename, "content_type": doc.content_type, "delivery": k,
            "delivered_on": d.delivered_on.isoformat()})
    if make_form is not None:
        entry["form"] = form_path(o.number, lang)
        w.add(entry["form"], make_form(session, o.number, lang=lang, viewer_party=viewer_party))
    snap = orders.snapshot(session, o)
    redacted = []
    if viewer_party is not None and viewer_party != o.requesting_party:
        for key in orders.INTERNAL_FIELDS:  # the requester's own: never in the partner's pack
            if key in snap:
                snap[key] = None
                redacted.append(key)
    w.add(entry["order"], _json_bytes({"number": o.number, "content_hash": o.content_hash,
                                       "redacted": redacted, "snapshot": snap}))
    return entry


def write_pack_file(session: Any, path: Path, **kw: Any) -> PackSummary:
    """`write_pack` into `path`, atomically: a temporary file beside it, flushed to disk and
    renamed over `path` only once the pack is complete; on any error nothing is left."""
    import os
    import tempfile

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            summary = write_pack(session, fh, **kw)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return summary


# --- verifying (no database) -----------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


@dataclass
class PackReport:
    manifest_sha256: str | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=lambda: {
        "files": 0, "bytes": 0, "events": 0, "orders": 0, "forms": 0, "documents": 0})
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        m = self.manifest
        return {"ok": self.ok, "manifest_sha256": self.manifest_sha256,
                "scope": m.get("scope"), "created_at": m.get("created_at"),
                "produced_by": m.get("produced_by"), "chain_head": m.get("chain_head"),
                "checked": self.checked, "problems": [vars(p) for p in self.problems],
                "notes": self.notes}

    def error(self) -> PackFailed:
        first, more = self.problems[0], len(self.problems) - 1
        return PackFailed(f"audit pack failed verification: {first}"
                          + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""),
                          problems=[vars(p) for p in self.problems])


class _Stop(Exception):
    """Too many problems: stop reading."""


class _Checker:
    def __init__(self, zf: zipfile.ZipFile, limits: Limits) -> None:
        self.zf, self.limits, self.report = zf, limits, PackReport()

    def bad(self, file: str, reason: str) -> None:
        self.report.problems.append(Problem(file, reason))
        if len(self.report.problems) >= self.limits.problems:
            raise _Stop

    def stream(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """The entry's bytes in chunks, never more than it declares (zipfile also checks the
        CRC at the end, which a lying size cannot pass)."""
        left = info.file_size
        with self.zf.open(info) as fh:
            while chunk := fh.read(min(CHUNK, left + 1)):
                left -= len(chunk)
                if left < 0:
                    raise zipfile.BadZipFile("more data than the entry declares")
                yield chunk

    def read(self, info: zipfile.ZipInfo, cap: int) -> bytes | None:
        if info.file_size > cap:
            self.bad(info.filename, f"declares {info.file_size:,} bytes, over the "
                     f"{cap:,} a verifier reads")
            return None
        try:
            return b"".join(self.stream(info))
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            self.bad(info.filename, f"cannot be read from the zip ({e})")
            return None


def verify_pack(source: Path | str | IO[bytes], *, limits: Limits = LIMITS) -> PackReport:
    """Check a pack using nothing but its own bytes: entry names, the manifest, every file's
    size and SHA-256, the events' hashes and links, and the ties between orders, forms,
    documents and events. Problems are collected (up to `limits.problems`), each naming the
    file; a file that is not a zip at all raises PackUnreadable."""
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise PackUnreadable(f"{source if isinstance(source, (str, Path)) else 'the pack'} "
                             f"is not a readable zip file ({e})", field="file") from None
    with zf:
        c = _Checker(zf, limits)
        try:
            _check(c)
        except _Stop:
            c.report.notes.append(f"stopped after {limits.problems} problems")
        return c.report


def _check(c: _Checker) -> None:
    infos = c.zf.infolist()
    if len(infos) > c.limits.entries:
        c.bad("(zip)", f"{len(infos):,} entries, over the {c.limits.entries:,} a verifier reads")
        return
    by_name: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        why = unsafe_reason(info.filename)
        if why:
            c.bad(info.filename, f"unsafe entry name ({why})")
            continue
        if info.filename in by_name:
            c.bad(info.filename, "appears twice in the zip")
            continue
        kind = stat.S_IFMT(info.external_attr >> 16)  # 0 where the zip tool wrote no type
        if info.is_dir() or kind not in (0, stat.S_IFREG):
            c.bad(info.filename, "not a regular file (directory, link or device)")
            continue
        if info.flag_bits & 0x1:
            c.bad(info.filename, "encrypted")
            continue
        by_name[info.filename] = info
    if MANIFEST not in by_name:
        c.bad(MANIFEST, "missing: this is not an acsa audit pack, or its manifest was removed")
        return
    raw = c.read(by_name.pop(MANIFEST), c.limits.manifest_bytes)
    if raw is None:
        return
    c.report.manifest_sha256 = _sha(raw)
    try:
        manifest = json.loads(raw.decode("utf-8"))
        files = manifest["files"]
        if manifest.get("format") != FORMAT or not isinstance(files, list):
            raise ValueError("not an acsa audit pack manifest")
        if manifest.get("version") != VERSION:
            raise ValueError(f"format version {manifest.get('version')!r} is not {VERSION}")
        listed = {f["path"]: (str(f["sha256"]), int(f["size"])) for f in files}
        if len(listed) != len(files):
            raise ValueError("a file is listed twice")
        if not all(isinstance(p, str) for p in listed):
            raise ValueError("a listed path is not text")
        for section in ("events", "chain_head"):  # read as objects by the checks below
            if not isinstance(manifest.get(section) or {}, dict):
                raise ValueError(f"{section!r} is not an object")
        if not isinstance((manifest.get("events") or {}).get("path", EVENTS), str):
            raise ValueError("the events' path is not text")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        c.bad(MANIFEST, f"cannot be read ({e})")
        return
    c.report.manifest = manifest
    _check_files(c, by_name, listed)
    events = _check_events(c, by_name, manifest, listed)
    _check_orders(c, by_name, manifest, listed, events)
    _check_unclaimed(c, manifest, listed)


def _check_unclaimed(c: _Checker, manifest: dict[str, Any],
                     listed: dict[str, tuple[str, int]]) -> None:
    """Every listed file is the pack's own (README, SHA256SUMS, the events) or one an order
    entry names (its order.json, form or a source document), and so is tied by the checks of
    that order to its events: a file a rewritten manifest lists but no order names (a planted
    document, or a forged form whose order entry was made to say it has none) is reported."""
    orders = manifest.get("orders")
    if not isinstance(orders, list):
        return  # reported by _check_orders
    meta = manifest.get("events")
    claimed = {README, SUMS, meta.get("path", EVENTS) if isinstance(meta, dict) else EVENTS}
    for o in orders:
        if not isinstance(o, dict):
            continue  # reported by _check_orders
        claimed.update(p for p in (o.get("order"), o.get("form")) if isinstance(p, str))
        docs = o.get("documents")
        if isinstance(docs, list):
            claimed.update(d.get("path") for d in docs
                           if isinstance(d, dict) and isinstance(d.get("path"), str))
    for path in sorted(set(listed) - claimed):
        c.bad(path, "listed in the manifest but named by none of its orders (a file the "
              "events do not tie to)")


def _check_files(c: _Checker, by_name: dict[str, zipfile.ZipInfo],
                 listed: dict[str, tuple[str, int]]) -> None:
    for name in sorted(set(by_name) - set(listed)):
        c.bad(name, "in the zip but not in the manifest (an added file)")
    total = sum(size for _, size in listed.values())
    if total > c.limits.total_bytes:
        c.bad(MANIFEST, f"lists {total:,} bytes, over the {c.limits.total_bytes:,} a verifier "
              "reads")
        return
    for path, (sha, size) in sorted(listed.items()):
        why = unsafe_reason(path)
        if why:
            c.bad(MANIFEST, f"lists an unsafe path {path!r} ({why})")
            continue
        info = by_name.get(path)
        if info is None:
            c.bad(path, "listed in the manifest but missing from the zip")
            continue
        if info.file_size != size:
            c.bad(path, f"size {info.file_size:,} bytes, the manifest says {size:,}")
            continue
        if size > c.limits.file_bytes:
            c.bad(path, f"{size:,} bytes, over the {c.limits.file_bytes:,} a verifier reads")
            continue
        h, n = hashlib.sha256(), 0
        try:
            for chunk in c.stream(info):
                h.update(chunk)
                n += len(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            c.bad(path, f"cannot be read from the zip ({e})")
            continue
        if n != size:
            c.bad(path, f"holds {n:,} bytes, the manifest says {size:,}")
        elif h.hexdigest() != sha:
            c.bad(path, "SHA-256 does not match the manifest (the file was changed)")
        else:
            c.report.checked["files"] += 1
            c.report.checked["bytes"] += n
    sums = by_name.get(SUMS)
    if sums is not None and SUMS in listed:
        text = (c.read(sums, c.limits.manifest_bytes) or b"").decode("utf-8", "replace")
        want = {p: s for p, (s, _) in listed.items() if p != SUMS}
        got = {}
        for ln in text.splitlines():
            sha, _, path = ln.partition("  ")
            got[path] = sha
        if got != want:
            c.bad(SUMS, "does not list the same files and hashes as the manifest")


def _check_events(c: _Checker, by_name: dict[str, zipfile.ZipInfo], manifest: dict[str, Any],
                  listed: dict[str, tuple[str, int]]) -> list[dict[str, Any]]:
    meta = manifest.get("events") or {}
    path = meta.get("path", EVENTS)
    info = by_name.get(path)
    if info is None or path not in listed:
        if info is None and path not in listed:
            c.bad(path, "missing: the pack has no event history")
        return []
    head = manifest.get("chain_head") or {}
    events: list[dict[str, Any]] = []
    prev: dict[str, Any] | None = None
    if info.file_size > c.limits.file_bytes:
        c.bad(path, f"declares {info.file_size:,} bytes, over the {c.limits.file_bytes:,} a "
              "verifier reads")
        return events
    try:
        with c.zf.open(info) as fh:
            while line := fh.readline(c.limits.line_bytes + 1):
                if len(line) > c.limits.line_bytes:
                    c.bad(path, f"a line longer than {c.limits.line_bytes:,} bytes")
                    return events
                prev = _check_event(c, path, line, prev, head, events)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        c.bad(path, f"cannot be read from the zip ({e})")
        return events
    if meta.get("count") != len(events) or meta.get("seqs", [e["seq"] for e in events]) != \
            [e["seq"] for e in events]:
        c.bad(path, f"holds {len(events)} events; the manifest lists "
              f"{meta.get('count')!r} ({'other' if meta.get('seqs') else 'no'} seqs)")
    c.report.checked["events"] = len(events)
    c.report.events = events
    return events


def _check_event(c: _Checker, path: str, line: bytes, prev: dict[str, Any] | None,
                 head: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not line.strip():
        return prev
    where = f"line {len(events) + 1}"
    try:
        e = json.loads(line.decode("utf-8"))
        if set(e) != set(EVENT_FIELDS):
            odd = ", ".join(sorted(set(e) ^ set(EVENT_FIELDS)))
            raise ValueError(f"fields missing or extra: {odd}")
        if not isinstance(e["seq"], int) or e["seq"] < 1:
            raise ValueError("seq is not a positive integer")
        if not all(isinstance(e[k], str) for k in EVENT_FIELDS if k != "seq"):
            raise ValueError("a field is not text")
    except (ValueError, UnicodeDecodeError) as err:
        c.bad(path, f"{where}: not an event ({err})")
        return prev
    seq = e["seq"]
    where = f"event {seq}"
    body = chain.body(seq, e["at"], e["party"], e["actor"], e["action"], e["subject"],
                      e["order_hash"], e["payload"])
    if e["body"] != body:
        c.bad(path, f"{where}: its body is not made of its fields (a field or the body was "
              "changed)")
    elif chain.link(e["prev_hash"], body) != e["hash"]:
        c.bad(path, f"{where}: content does not match its hash (the event was altered)")
    if prev is not None and seq <= prev["seq"]:
        c.bad(path, f"{where}: out of order (after event {prev['seq']})")
    elif prev is not None and seq == prev["seq"] + 1 and e["prev_hash"] != prev["hash"]:
        c.bad(path, f"{where}: prev_hash is not the hash of event {prev['seq']} before it")
    if seq == 1 and e["prev_hash"] != chain.GENESIS:
        c.bad(path, f"{where}: the first event of the chain must follow the genesis hash")
    if isinstance(head.get("seq"), int):
        if seq > head["seq"]:
            c.bad(path, f"{where}: after the chain head (event {head['seq']}) the manifest "
                  "records")
        elif seq == head["seq"] and e["hash"] != head.get("hash"):
            c.bad(path, f"{where}: is the chain head but its hash is not the manifest's head")
    try:
        json.loads(e["payload"])
    except ValueError:
        c.bad(path, f"{where}: payload is not JSON")
    events.append(e)
    return e


def _check_orders(c: _Checker, by_name: dict[str, zipfile.ZipInfo], manifest: dict[str, Any],
                  listed: dict[str, tuple[str, int]], events: list[dict[str, Any]]) -> None:
    orders = manifest.get("orders")
    if not isinstance(orders, list):
        c.bad(MANIFEST, "has no list of orders")
        return
    if not listed.get(EVENTS) or EVENTS not in by_name:
        return
    for o in orders:
        try:
            number = str(o["number"])
            mine = [e for e in events if e["subject"] == number]
            hashes = {e["order_hash"] for e in mine if e["order_hash"]}
            _check_order(c, by_name, listed, o, number, mine, hashes)
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            c.bad(MANIFEST, f"an order entry cannot be read ({type(err).__name__}: {err})")
    c.report.checked["orders"] = len(orders)


def _check_order(c: _Checker, by_name: dict[str, zipfile.ZipInfo],
                 listed: dict[str, tuple[str, int]], o: dict[str, Any], number: str,
                 mine: list[dict[str, Any]], hashes: set[str]) -> None:
    if [e["seq"] for e in mine] != list(o.get("events", [])):
        c.bad(EVENTS, f"the events of {number} are not those the manifest lists")
    if not mine:
        c.bad(EVENTS, f"holds no event of {number}")
    if o["content_hash"] not in hashes:
        c.bad(o["order"], f"content hash of {number} is in none of its events")
    data = _listed_json(c, by_name, listed, o["order"])
    if data is not None:
        if data.get("number") != number or data.get("content_hash") != o["content_hash"]:
            c.bad(o["order"], f"does not name {number} with the manifest's content hash")
        elif data.get("redacted"):
            c.report.notes.append(f"{o['order']}: {', '.join(data['redacted'])} withheld from "
                                  "this party's pack; its content hash is not recomputed")
        elif chain.content_hash(data.get("snapshot")) != o["content_hash"]:
            c.bad(o["order"], "its snapshot does not hash to its content hash (the order data "
                  "was changed)")
        delivered = {_payload(e).get("document") for e in mine
                     if e["action"] == "order.delivered"}
        for d in o.get("documents", []):
            if d["path"] not in listed:
                c.bad(d["path"], f"a source document of {number} the manifest does not list")
            elif listed[d["path"]][0] != d["sha256"]:
                c.bad(d["path"], "the manifest gives two different SHA-256 for it")
            elif d["sha256"] not in delivered:
                c.bad(d["path"], f"its SHA-256 is in no delivery event of {number}")
            else:
                c.report.checked["documents"] += 1
    form = o.get("form")
    if form is None:
        c.report.notes.append(f"{number}: no order form in the pack (its producer could not "
                              "make one)")
        return
    if form not in listed or form not in by_name:
        return  # already reported as missing
    raw = c.read(by_name[form], c.limits.file_bytes)
    if raw is None or _sha(raw) != listed[form][0]:
        return
    payloads = pdf_payloads(raw)
    if payloads is None:
        c.bad(form, "is not a readable PDF")
    elif not payloads:
        c.bad(form, "carries no ACSA1:ORDER:NUMBER:HASH code in its metadata")
    elif not any(n == number for n, _ in payloads):
        c.bad(form, f"names order {payloads[0][0]}, not {number}")
    elif not any(n == number and h == o["content_hash"] for n, h in payloads):
        c.bad(form, f"shows another version of {number} than the pack's" if any(
            n == number and h in hashes for n, h in payloads)
            else f"its order hash is in none of the events of {number}")
    else:
        c.report.checked["forms"] += 1


def _payload(e: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(e["payload"])
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _listed_json(c: _Checker, by_name: dict[str, zipfile.ZipInfo],
                 listed: dict[str, tuple[str, int]], path: str) -> dict[str, Any] | None:
    if path not in listed or path not in by_name:
        return None
    raw = c.read(by_name[path], c.limits.manifest_bytes)
    if raw is None or _sha(raw) != listed[path][0]:
        return None  # reported by the file check
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except ValueError as e:
        c.bad(path, f"is not JSON ({e})")
        return None
    return data


def pdf_payloads(raw: bytes) -> list[tuple[str, str]] | None:
    """(order number, order hash) of every ACSA1:ORDER code in a PDF's document information
    (subject, keywords, title, custom entries) and XMP metadata; None if it is no PDF."""
    try:
        from pypdf import PdfReader
        reader = PdfReader(io.BytesIO(raw), strict=False)
        texts = [str(v) for v in (reader.metadata or {}).values()]
        xmp = reader.trailer["/Root"].get("/Metadata")
        if xmp is not None:
            texts.append(xmp.get_object().get_data().decode("utf-8", "replace"))
    except Exception:  # noqa: BLE001 - any failure to parse means "not a readable PDF"
        return None
    found: list[tuple[str, str]] = []
    for t in texts:
        for m in PAYLOAD_RE.finditer(t):
            if (m["number"], m["hash"]) not in found:
                found.append((m["number"], m["hash"]))
    return found


# --- against a database ----------------------------------------------------------------------
def compare_with_database(session: Any, report: PackReport) -> list[Problem]:
    """Each event of a verified pack must be in this database's chain, field for field, and
    each source document stored with the same SHA-256. (The database's chain itself is checked
    by `acsa audit verify`.)"""
    from sqlalchemy import select

    from acsa.audit.models import Event
    from acsa.orders.models import Document

    problems: list[Problem] = []
    seqs = [e["seq"] for e in report.events]
    stored: dict[int, Any] = {}
    for i in range(0, len(seqs), 500):
        for ev in session.scalars(select(Event).where(Event.seq.in_(seqs[i:i + 500]))):
            stored[ev.seq] = ev
    for e in report.events:
        ev = stored.get(e["seq"])
        if ev is None:
            problems.append(Problem(EVENTS, f"event {e['seq']} is not in the database"))
            continue
        differ = [k for k in EVENT_FIELDS if k != "body" and getattr(ev, k) != e[k]]
        if differ:
            problems.append(Problem(EVENTS, f"event {e['seq']} differs from the database's "
                                    f"({', '.join(differ)})"))
    head = report.manifest.get("chain_head") or {}
    if head.get("seq"):
        at = session.get(Event, head["seq"])
        if at is None or at.hash != head.get("hash"):
            problems.append(Problem(MANIFEST, f"the chain head (event {head['seq']}) is not "
                                    "the database's event of that seq"))
    for o in report.manifest.get("orders", []):
        for d in o.get("documents", []):
            if session.get(Document, d["sha256"]) is None:
                problems.append(Problem(d["path"], "no stored document with this SHA-256"))
    return problems
