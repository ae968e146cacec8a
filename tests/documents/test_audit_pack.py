"""Audit packs built from the books (SQLite and PostgreSQL) and checked offline: what a pack
of an order and of an activity holds, what a partner's pack leaves out, that the check passes
on a whole pack and names the file for every kind of tampering, that it needs no database,
and the optional comparison with a database's chain."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from acsa import errors
from acsa.audit import chain
from acsa.audit import pack as packs
from acsa.audit import service as audit
from acsa.db.engine import make_engine, unit_of_work
from acsa.orders import service as orders
from tests.documents._pack_helpers import (
    FUND,
    SLIP,
    SLIP_2,
    Story,
    build,
    build_story,
    entries,
    events,
    manifest,
    names,
    pdf_text,
    problems,
    rezip,
    sha,
)
from tests.factories import setup_world


@pytest.fixture
def books(engine: Engine, _acsa_home: Path) -> Engine:
    """The factories' books on `engine` (SQLite and PostgreSQL)."""
    with unit_of_work(engine) as s:
        setup_world(s, _acsa_home)
    return engine


@pytest.fixture
def story(books: Engine) -> Story:
    return build_story(books)


def order_dir(number: str) -> str:
    return f"orders/{number}"


def expected_events(engine: Engine, *subjects: str) -> list[dict]:
    with unit_of_work(engine) as s:
        found = [e for subject in subjects for e in audit.history(s, subject)]
    return sorted(({"seq": e.seq, "hash": e.hash, "action": e.action, "payload": e.payload}
                   for e in found), key=lambda e: e["seq"])


# --- what a pack holds ------------------------------------------------------------------------
def test_an_order_pack_holds_its_form_documents_events_and_manifest(books, story):
    data = build(books, order=story.a)
    files = entries(data)
    a = order_dir(story.a)
    assert names(data) == ["README.txt", "events.jsonl",
                           f"{a}/documents/delivery-001-issue-slip.pdf",
                           f"{a}/order-form-ja.pdf", f"{a}/order.json", "SHA256SUMS",
                           "manifest.json"]
    # the source document, byte for byte, and under the hash the delivery recorded
    assert files[f"{a}/documents/delivery-001-issue-slip.pdf"] == f"slip {story.a}".encode()
    m = manifest(data)
    assert {f["path"]: (f["sha256"], f["size"]) for f in m["files"]} == {
        n: (sha(b), len(b)) for n, b in files.items() if n != "manifest.json"}
    assert files["SHA256SUMS"].decode() == "".join(
        f"{sha(files[n])}  {n}\n" for n in sorted(files) if n not in ("manifest.json",
                                                                    "SHA256SUMS"))
    with unit_of_work(books) as s:
        order = orders.get_order(s, story.a)
        content_hash, delivered = order.content_hash, order.deliveries[0].document_sha256
        snapshot = orders.snapshot(s, order)
        head = audit.verify(s).head
    assert m["orders"][0]["documents"][0]["sha256"] == delivered == sha(f"slip {story.a}".encode())
    assert m["scope"] == {"kind": "order", "order": story.a, "viewer_party": None, "lang": "ja",
                          "orders": [story.a]}
    assert m["created_at"] == "2026-07-01T09:30:00Z"
    assert m["chain_head"]["hash"] == head and m["produced_by"]["party"] is None
    # the events of the order, its claims and settlements and the offset of its claim
    want = expected_events(books, story.a, f"offset:{story.offset}")
    got = events(data)
    assert [(e["seq"], e["hash"], e["action"], e["payload"]) for e in got] == [
        (e["seq"], e["hash"], e["action"], e["payload"]) for e in want]
    assert {"order.created", "order.accepted", "order.delivered", "claim.issued",
            "claim.offset", "offset.proposed", "offset.approved"} <= {e["action"] for e in got}
    for e in got:  # every event recomputes from the fields in the pack alone
        assert e["body"] == chain.body(e["seq"], e["at"], e["party"], e["actor"], e["action"],
                                       e["subject"], e["order_hash"], e["payload"])
        assert chain.link(e["prev_hash"], e["body"]) == e["hash"]
    # the order data as hashed, and the form naming that hash
    order_json = json.loads(files[f"{a}/order.json"])
    assert order_json == {"number": story.a, "content_hash": content_hash, "redacted": [],
                          "snapshot": json.loads(json.dumps(snapshot))}
    assert chain.content_hash(order_json["snapshot"]) == content_hash
    assert f"ACSA1:ORDER:{story.a}:{content_hash}" in pdf_text(files[f"{a}/order-form-ja.pdf"])
    report = packs.verify_pack(io.BytesIO(data))
    assert report.ok, report.problems
    assert report.checked | {"bytes": 0} == {"files": 6, "bytes": 0, "events": len(want),
                                             "orders": 1, "forms": 1, "documents": 1}
    assert report.manifest_sha256 == sha(files["manifest.json"])


def test_an_activity_pack_holds_every_order_under_it_and_nothing_else(books, story):
    data = build(books, activity="KAMANDAG-10", lang="fil")
    m = manifest(data)
    assert m["scope"]["orders"] == [story.a, story.b] == [o["number"] for o in m["orders"]]
    assert not any(story.other_activity in n or story.jpus in n for n in names(data))
    b = order_dir(story.b)
    files = entries(data)
    # two partial deliveries, each with its own document under a safe, stable name
    assert files[f"{b}/documents/delivery-001-受領書_0601.pdf"] == SLIP
    assert files[f"{b}/documents/delivery-002-passwd"] == SLIP_2
    assert [d["filename"] for d in m["orders"][1]["documents"]] == ["受領書 0601.pdf",
                                                                   "../../etc/passwd"]
    assert {f"{b}/order-form-fil.pdf", f"{order_dir(story.a)}/order-form-fil.pdf"} <= set(files)
    want = expected_events(books, story.a, story.b, f"offset:{story.offset}")
    assert [e["seq"] for e in events(data)] == [e["seq"] for e in want]  # the offset's once
    report = packs.verify_pack(io.BytesIO(data))
    assert report.ok, report.problems
    assert (report.checked["orders"], report.checked["forms"], report.checked["documents"]) == (
        2, 2, 3)


def test_a_pack_is_written_in_the_same_order_every_time(books, story):
    one, two = build(books, activity="KAMANDAG-10"), build(books, activity="KAMANDAG-10")
    assert names(one) == names(two)
    first, second = entries(one), entries(two)
    forms = {n for n in first if n.endswith(".pdf") and "order-form" in n}
    for n in set(first) - forms - {"manifest.json", "SHA256SUMS"}:
        assert first[n] == second[n], n
    with zipfile.ZipFile(io.BytesIO(one)) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2026, 7, 1, 9, 30, 0)}


def test_a_partners_pack_has_its_orders_only_and_none_of_the_requesters_internal_fields(
        books, story):
    as_ph = build(books, activity="KAMANDAG-10", viewer_party="PH")
    m = manifest(as_ph)
    assert [o["number"] for o in m["orders"]] == [story.a, story.b]
    a_json = json.loads(entries(as_ph)[f"{order_dir(story.a)}/order.json"])
    assert a_json["snapshot"]["fund_citation"] is None and a_json["redacted"] == ["fund_citation"]
    b_json = json.loads(entries(as_ph)[f"{order_dir(story.b)}/order.json"])  # PH's own order
    assert b_json["snapshot"]["fund_citation"] == FUND and b_json["redacted"] == []
    for name, content in entries(as_ph).items():
        if story.a in name:
            readable = pdf_text(content) if name.endswith("form-ja.pdf") else content.decode(
                "utf-8", "replace")
            assert FUND not in readable, name
    report = packs.verify_pack(io.BytesIO(as_ph))
    assert report.ok, report.problems
    assert any("fund_citation withheld" in n for n in report.notes)
    # the requester's own pack has it, and its hash recomputes
    as_jp = entries(build(books, order=story.a, viewer_party="JP"))
    a_own = json.loads(as_jp[f"{order_dir(story.a)}/order.json"])
    assert a_own["snapshot"]["fund_citation"] == FUND
    assert FUND in pdf_text(as_jp[f"{order_dir(story.a)}/order-form-ja.pdf"])


def test_other_parties_objects_are_not_found(books, story):
    for kw in ({"order": story.jpus, "viewer_party": "PH"},
               {"order": story.a, "viewer_party": "US"},
               {"activity": "HADR-CEBU", "viewer_party": "US"},
               {"order": "PHJP-JP-2026-9999"}, {"activity": "NO-SUCH"}):
        with pytest.raises(errors.NotFound):
            build(books, **kw)
    # KAMANDAG-10 runs under PH-US too: the US sees the activity, and none of these orders
    us = build(books, activity="KAMANDAG-10", viewer_party="US")
    assert manifest(us)["orders"] == [] and events(us) == []
    assert packs.verify_pack(io.BytesIO(us)).ok


def test_a_document_altered_in_the_database_stops_the_pack(books, story):
    with books.begin() as conn:
        conn.execute(text("UPDATE documents SET content = :c WHERE sha256 = :h"),
                      {"c": b"forged", "h": sha(SLIP)})
    with pytest.raises(errors.IntegrityError, match="does not match its SHA-256"):
        build(books, order=story.b)
    assert packs.verify_pack(io.BytesIO(build(books, order=story.a))).ok


def test_pack_arguments_are_checked(books, story):
    for kw in ({}, {"order": story.a, "activity": "KAMANDAG-10"}):
        with pytest.raises(errors.InvalidInput, match="exactly one"):
            build(books, **kw)
    with pytest.raises(errors.InvalidInput, match="language"):
        build(books, order=story.a, lang="de")


# --- tampering ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pack_a(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[bytes, Story]:
    """One activity pack for the tampering tests, which check the verifier alone (it reads no
    database, so one backend is enough): built once, copied and changed by each test."""
    folder = tmp_path_factory.mktemp("pack-a")
    shutil.copy(sqlite_template, folder / "acsa.db")
    engine = make_engine(f"sqlite:///{folder / 'acsa.db'}")
    try:
        with unit_of_work(engine) as s:
            setup_world(s, folder)
        story = build_story(engine)
        return build(engine, activity="KAMANDAG-10"), story
    finally:
        engine.dispose()


def first(found: list[packs.Problem]) -> tuple[str, str]:
    assert found, "the tampered pack passed verification"
    return found[0].file, found[0].reason


def test_a_changed_document_byte_is_named(pack_a):
    data, story = pack_a
    path = f"{order_dir(story.b)}/documents/delivery-002-passwd"
    forged = bytearray(SLIP_2)
    forged[10] ^= 1
    assert first(problems(rezip(data, replace={path: bytes(forged)}))) == (
        path, "SHA-256 does not match the manifest (the file was changed)")
    # a forger who rewrites the manifest's file list is caught by its order entry...
    found = problems(rezip(data, replace={path: bytes(forged)}, reseal=True))
    assert first(found) == (path, "the manifest gives two different SHA-256 for it")
    # ...and one who rewrites that too, by the delivery event, which names the original
    m = json.dumps(manifest(data)).replace(sha(SLIP_2), sha(bytes(forged))).encode()
    found = problems(rezip(data, replace={path: bytes(forged), packs.MANIFEST: m},
                           reseal=True))
    assert first(found) == (path, f"its SHA-256 is in no delivery event of {story.b}")


def _edit_event(data: bytes, seq: int, **fields: str) -> bytes:
    lines = entries(data)[packs.EVENTS].decode().splitlines()
    out = []
    for ln in lines:
        e = json.loads(ln)
        if e["seq"] == seq:
            e.update(fields)
        out.append(json.dumps(e, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


def test_a_changed_event_is_named_even_when_the_manifest_is_rewritten(pack_a):
    data, _ = pack_a
    e = events(data)[3]
    payload = e["payload"].replace("}", ',"x":1}', 1)
    body = chain.body(e["seq"], e["at"], e["party"], e["actor"], e["action"], e["subject"],
                      e["order_hash"], payload)
    forged = _edit_event(data, e["seq"], payload=payload, body=body)
    found = [(p.file, p.reason) for p in problems(rezip(data, replace={packs.EVENTS: forged}))]
    assert found[0][0] == packs.EVENTS and found[0][1].startswith("size ")
    assert (packs.EVENTS, f"event {e['seq']}: content does not match its hash (the event was "
            "altered)") in found
    found = problems(rezip(data, replace={packs.EVENTS: forged}, reseal=True))
    assert first(found) == (packs.EVENTS, f"event {e['seq']}: content does not match its hash "
                            "(the event was altered)")
    # changing a field but not the body is caught too
    found = problems(rezip(data, replace={packs.EVENTS: _edit_event(data, e["seq"],
                                                                    actor="ph-intruder")},
                           reseal=True))
    assert first(found)[1].startswith(f"event {e['seq']}: its body is not made of its fields")


def test_an_event_rehashed_by_a_forger_breaks_the_link_to_the_next(pack_a):
    data, _ = pack_a
    evs = events(data)
    i = next(k for k in range(len(evs) - 1) if evs[k + 1]["seq"] == evs[k]["seq"] + 1)
    e = evs[i]
    payload = e["payload"].replace("}", ',"x":1}', 1)
    body = chain.body(e["seq"], e["at"], e["party"], e["actor"], e["action"], e["subject"],
                      e["order_hash"], payload)
    forged = _edit_event(data, e["seq"], payload=payload, body=body,
                         hash=chain.link(e["prev_hash"], body))
    found = problems(rezip(data, replace={packs.EVENTS: forged}, reseal=True))
    assert (packs.EVENTS, f"event {evs[i + 1]['seq']}: prev_hash is not the hash of event "
            f"{e['seq']} before it") in [(p.file, p.reason) for p in found]


def test_a_dropped_file_is_named(pack_a):
    data, story = pack_a
    path = f"{order_dir(story.a)}/order-form-ja.pdf"
    assert first(problems(rezip(data, drop=(path,)))) == (
        path, "listed in the manifest but missing from the zip")
    assert first(problems(rezip(data, drop=(packs.EVENTS,)))) == (
        packs.EVENTS, "listed in the manifest but missing from the zip")


def test_an_added_file_is_named(pack_a):
    data, story = pack_a
    path = f"{order_dir(story.a)}/documents/delivery-009-extra.pdf"
    assert first(problems(rezip(data, add={path: b"%PDF-1.4 planted"}))) == (
        path, "in the zip but not in the manifest (an added file)")


def test_an_edited_manifest_is_named(pack_a):
    data, story = pack_a
    m = manifest(data)
    doc = m["orders"][0]["documents"][0]["path"]
    size = next(f for f in m["files"] if f["path"] == doc)["size"]
    next(f for f in m["files"] if f["path"] == doc)["size"] = size + 1
    found = problems(rezip(data, replace={packs.MANIFEST: json.dumps(m).encode()}))
    assert first(found) == (doc, f"size {size} bytes, the manifest says {size + 1}")
    m = manifest(data)
    m["chain_head"]["hash"] = "0" * 64
    m["chain_head"]["seq"] = events(data)[-1]["seq"]
    found = problems(rezip(data, replace={packs.MANIFEST: json.dumps(m).encode()}))
    assert first(found) == (packs.EVENTS, f"event {m['chain_head']['seq']}: is the chain head "
                            "but its hash is not the manifest's head")
    m = manifest(data)
    m["orders"][0]["content_hash"] = "f" * 64
    found = problems(rezip(data, replace={packs.MANIFEST: json.dumps(m).encode()}))
    assert first(found) == (f"{order_dir(story.a)}/order.json",
                            f"content hash of {story.a} is in none of its events")
    assert first(problems(rezip(data, replace={packs.MANIFEST: b"{not json"})))[0] == \
        packs.MANIFEST


def test_changed_order_data_is_named(pack_a):
    data, story = pack_a
    path = f"{order_dir(story.a)}/order.json"
    doc = json.loads(entries(data)[path])
    doc["snapshot"]["lines"][0]["quantity"] = "9000"
    found = problems(rezip(data, replace={path: json.dumps(doc).encode()}, reseal=True))
    assert first(found) == (path, "its snapshot does not hash to its content hash (the order "
                            "data was changed)")


def test_another_orders_form_is_named(pack_a):
    data, story = pack_a
    files = entries(data)
    a_form = f"{order_dir(story.a)}/order-form-ja.pdf"
    b_form = f"{order_dir(story.b)}/order-form-ja.pdf"
    found = problems(rezip(data, replace={a_form: files[b_form]}, reseal=True))
    assert first(found) == (a_form, f"names order {story.b}, not {story.a}")
    found = problems(rezip(data, replace={a_form: b"%PDF-1.4 no code"}, reseal=True))
    assert first(found) == (a_form, "is not a readable PDF")
    older = next(e["order_hash"] for e in events(data) if e["subject"] == story.a)
    for code, reason in ((f"ACSA1:ORDER:{story.a}:{older}",
                          f"shows another version of {story.a} than the pack's"),
                         (f"ACSA1:ORDER:{story.a}:{'e' * 64}",
                          f"its order hash is in none of the events of {story.a}"),
                         ("no code here",
                          "carries no ACSA1:ORDER:NUMBER:HASH code in its metadata")):
        found = problems(rezip(data, replace={a_form: pdf_with_subject(code)}, reseal=True))
        assert first(found) == (a_form, reason)


def pdf_with_subject(subject: str) -> bytes:
    from reportlab.pdfgen.canvas import Canvas
    out = io.BytesIO()
    page = Canvas(out)
    page.setSubject(subject)
    page.drawString(72, 720, "a form made elsewhere")
    page.save()
    return out.getvalue()


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/cron.d/evil", "orders/../../evil",
                                  "C:/evil.txt", "orders\\..\\evil"])
def test_a_zip_slip_entry_is_refused(pack_a, name):
    data, _ = pack_a
    found = problems(rezip(data, add={name: b"owned"}))
    assert first(found)[0] == name and "unsafe entry name" in first(found)[1]


def test_a_duplicated_entry_is_refused(pack_a):
    data, story = pack_a
    path = f"{order_dir(story.a)}/order.json"
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = rezip(data, add={path: b"{}"})
    assert (path, "appears twice in the zip") in [(p.file, p.reason) for p in problems(twice)]


def test_sizes_past_the_limits_are_refused_before_reading(pack_a):
    data, story = pack_a
    small = packs.Limits(file_bytes=1000)
    found = problems(data, limits=small)
    assert any(p.file.endswith("order-form-ja.pdf") and "over the 1,000" in p.reason
               for p in found)
    assert first(problems(data, limits=packs.Limits(entries=3))) == (
        "(zip)", f"{len(names(data))} entries, over the 3 a verifier reads")
    assert first(problems(data, limits=packs.Limits(manifest_bytes=100)))[0] == packs.MANIFEST


def test_a_file_that_is_not_a_zip_is_unreadable(tmp_path):
    for content in (b"", b"not a zip at all", b"PK\x03\x04broken"):
        with pytest.raises(packs.PackUnreadable, match="not a readable zip"):
            packs.verify_pack(io.BytesIO(content))
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()
    assert first(problems(empty.getvalue()))[0] == packs.MANIFEST


# --- no database, and against a database -----------------------------------------------------
def test_verify_touches_no_database(pack_a, monkeypatch):
    """The check runs with every way of opening a database made to fail."""
    data, _ = pack_a
    from sqlalchemy.engine import create as sa_create

    import acsa.db.engine as engines

    def refuse(*a, **k):
        raise AssertionError("verify_pack opened a database")
    monkeypatch.setattr(engines, "make_engine", refuse)
    monkeypatch.setattr(sa_create, "create_engine", refuse)
    monkeypatch.setenv("ACSA_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert packs.verify_pack(io.BytesIO(data)).ok


def test_against_the_database(books, story):
    data = build(books, activity="KAMANDAG-10")
    report = packs.verify_pack(io.BytesIO(data))
    with unit_of_work(books) as s:
        assert packs.compare_with_database(s, report) == []
    seq = events(data)[2]["seq"]
    with books.begin() as conn:  # an intruder past the append-only triggers
        if books.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER ALL"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        conn.execute(text(f"UPDATE audit_events SET actor = 'someone' WHERE seq = {seq}"))
    with unit_of_work(books) as s:
        found = packs.compare_with_database(s, report)
    assert [(p.file, p.reason) for p in found] == [
        (packs.EVENTS, f"event {seq} differs from the database's (actor)")]


def test_without_a_form_generator_the_pack_says_so(books, story, monkeypatch):
    monkeypatch.setattr(packs, "_form_generator", lambda: None)
    data = build(books, order=story.a)
    m = manifest(data)
    assert m["orders"][0]["form"] is None and not any("order-form" in n for n in names(data))
    assert m["warnings"] == ["order forms omitted: this acsa has no order form generator "
                             "(acsa.documents.forms)"]
    report = packs.verify_pack(io.BytesIO(data))
    assert report.ok and report.checked["forms"] == 0
    assert report.notes == [f"{story.a}: no order form in the pack (its producer could not "
                            "make one)"]
