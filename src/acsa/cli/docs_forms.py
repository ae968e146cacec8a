"""`acsa docs order-form|claim|receipt|offset` and `acsa verify-doc`.

Each form is built completely in memory, then written to a temporary file in the target's
folder and renamed over the target, so a failed command never leaves a half-written file.
`verify-doc` reads the code off a PDF or a photo of a printed page and checks it against the
books: exit 0 only for a match; an outdated copy is an integrity error (8), an unknown
document or hash not found (5), an unreadable file invalid input (3).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from sqlalchemy.orm import Session

from acsa import errors
from acsa.cli.common import JsonOpt, emit, fail, out, run
from acsa.cli.docs import app

if TYPE_CHECKING:
    from acsa.documents.verify import Verification

# the PDF, QR and imaging libraries are imported by the commands that use them, so that
# every other acsa command starts without them

LangOpt = typer.Option("ja", "--lang", help="The form's second language beside English: ja "
                       "(Japanese) or fil (Filipino).")
OutOpt = typer.Option(..., "-o", "--output", help="The PDF file to write (replaced if it "
                      "exists; written whole or not at all).")


def write_atomically(target: Path, data: bytes) -> None:
    """`data` becomes `target` in one rename: a reader sees the old file or the new one."""
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise errors.InvalidInput(f"-o: folder {folder} does not exist", field="output")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _pages(pdf: bytes) -> int:
    from pypdf import PdfReader
    return len(PdfReader(io.BytesIO(pdf)).pages)


def _write_form(build: Callable[[Session], bytes], output: Path, lang: str, what: str,
                as_json: bool) -> None:
    from acsa.documents.forms_layout import check_lang

    def go(s: Session) -> dict[str, Any]:
        check_lang(lang)
        return {"pdf": build(s)}
    pdf = run(go, as_json=as_json)["pdf"]
    try:
        write_atomically(output, pdf)
    except errors.AcsaError as e:
        fail(e, as_json)
    except OSError as e:
        fail(errors.InvalidInput(f"-o: cannot write {output}: {e.strerror or e}",
                                 field="output"), as_json)
    data = {"file": str(output), "sha256": hashlib.sha256(pdf).hexdigest(), "bytes": len(pdf),
            "pages": _pages(pdf)}
    emit(data, as_json, lambda: out.print(
        f"{what} written to {output} ({data['pages']} page(s), {len(pdf):,} bytes, sha256 "
        f"{data['sha256']})", highlight=False))


def _forms():  # type: ignore[no-untyped-def]
    from acsa.documents import forms
    return forms


@app.command("order-form")
def order_form(number: str = typer.Argument(..., help="Order number."), lang: str = LangOpt,
               output: Path = OutOpt, as_json: bool = JsonOpt) -> None:
    """The bilingual ACSA order and receipt form of one order, with its QR code."""
    _write_form(lambda s: _forms().order_form_pdf(s, number, lang=lang), output, lang,
                f"order form {number}", as_json)


@app.command("claim")
def claim(number: str = typer.Argument(..., help="Claim number, e.g. PHJP-JP-2026-0001-C1."),
          lang: str = LangOpt, output: Path = OutOpt, as_json: bool = JsonOpt) -> None:
    """The claim notice (bill) of one claim: lines billed, amount, due date, what is
    outstanding and how to pay."""
    _write_form(lambda s: _forms().claim_notice_pdf(s, number, lang=lang), output, lang,
                f"claim notice {number}", as_json)


@app.command("receipt")
def receipt(settlement: str = typer.Argument(..., help="Settlement id (settlement_id in "
                                             "`acsa settle pay --json`)."),
            lang: str = LangOpt, output: Path = OutOpt, as_json: bool = JsonOpt) -> None:
    """The receipt of one payment, return in kind or equal-value exchange."""
    _write_form(lambda s: _forms().payment_receipt_pdf(s, settlement, lang=lang), output, lang,
                f"receipt {settlement}", as_json)


@app.command("offset")
def offset(number: str = typer.Argument(..., help="Offset number, e.g. PHJP-OFS-0001."),
           lang: str = LangOpt, output: Path = OutOpt, as_json: bool = JsonOpt) -> None:
    """The offset (netting) document with both parties' approval blocks."""
    _write_form(lambda s: _forms().offset_pdf(s, number, lang=lang), output, lang,
                f"offset document {number}", as_json)


def verify_doc(file: Path = typer.Argument(..., help="A form acsa made (PDF), or a PNG or "
                                           "JPEG photo or scan of the printed page."),
               as_json: bool = JsonOpt) -> None:
    """Check a printed or saved form against the books: its QR code (or printed code) names
    the document and the hash it had when printed."""
    from acsa.documents import verify

    try:
        reading = verify.read_payload(file)
    except errors.AcsaError as e:
        fail(e, as_json)
    result = run(lambda s: verify.check(s, reading), as_json=as_json)
    emit(result.to_dict(), as_json, lambda: _render(result))
    error = result.error()
    if error is not None:
        fail(error, as_json)


def _render(r: Verification) -> None:
    mark = {"match": "[green]MATCH[/]", "changed": "[red]CHANGED[/]",
            "unknown": "[red]UNKNOWN[/]"}[r.status]
    out.print(f"{mark}  {r.message}")
    out.print(f"  read from the {r.source} of {r.file}: {r.payload}", highlight=False)
    if r.current_hash and r.current_hash != r.printed_hash:
        out.print(f"  printed hash {r.printed_hash}\n  current hash {r.current_hash}",
                  highlight=False)
    for who, h in r.signed.items():
        out.print(f"  {who} signature on hash {h or '-'}", highlight=False)
    for c in r.changes:
        out.print(f"  since printed: {c.action} by {c.actor} at {c.at}"
                  + (f" (event {c.seq})" if c.seq else ""), highlight=False)
