"""Statements and reports as files: the statement of account, the ageing of open claims, the
register of an activity and the annual report, each as PDF or xlsx, in English or English
with Japanese or Filipino.

What the documents say is read by `reports_data` (from `acsa.ledger.reports` and the lines,
orders and claims behind it); `reports_pdf` and `reports_xlsx` lay it out; this module is what
the CLI (`acsa docs statement|ageing|activity|annual`) and the API (`/api/v1/reports/...`)
call: checked options in, document bytes out, and the atomic write of a file.

Language: reports default to English alone (`en`); `ja` or `fil` adds the second language to
every caption, as the order form does (which defaults to `ja`: a form is signed by both
sides, a report is read mostly by one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import os
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Literal

from sqlalchemy.orm import Session

from acsa import errors
from acsa.documents import reports_data as data
from acsa.documents import reports_labels

Format = Literal["pdf", "xlsx"]
FORMATS: tuple[Format, ...] = ("pdf", "xlsx")
MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
LANGS = reports_labels.LANGS


def _layout(fmt: str) -> ModuleType:
    """The layout module of a format, imported when first needed: ReportLab and matplotlib
    (PDF) or openpyxl (xlsx) cost a command that writes no report nothing."""
    return importlib.import_module(f"acsa.documents.reports_{check_format(fmt)}")


def check_format(fmt: str) -> Format:
    low = fmt.lower()
    if low not in FORMATS:
        raise errors.InvalidInput(f"--format: {fmt!r} is not pdf or xlsx", field="format",
                                  hint="Use --format pdf or --format xlsx.")
    return low  # type: ignore[return-value]


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise errors.InvalidInput(f"--lang: {lang!r} is not one of {', '.join(LANGS)}",
                                  field="lang", hint="English alone (en), or English with "
                                  "Japanese (ja) or Filipino (fil).")
    return lang


def format_for(path: Path, fmt: str | None) -> Format:
    """The format asked for, or the one the file's suffix names; both, they must agree."""
    suffix = path.suffix.lower().lstrip(".")
    if fmt is None:
        if suffix not in FORMATS:
            raise errors.InvalidInput(f"-o: cannot tell the format of {path.name!r} from its "
                                      "suffix", field="output",
                                      hint="Name the file .pdf or .xlsx, or give --format.")
        return suffix  # type: ignore[return-value]
    chosen = check_format(fmt)
    if suffix in FORMATS and suffix != chosen:
        raise errors.InvalidInput(f"--format: {chosen} does not match the file name "
                                  f"{path.name!r}", field="format",
                                  hint=f"Name the file .{chosen}, or drop --format.")
    return chosen


def statement_document(session: Session, *, party: str, agreement: str, as_of: dt.date,
                       partner: str | None = None, from_on: dt.date | None = None,
                       currency: str | None = None, fmt: Format = "pdf",
                       lang: str = "en") -> bytes:
    st = data.statement(session, party=party, agreement=agreement, as_of=as_of,
                        partner=partner, from_on=from_on, currency=currency)
    return _layout(fmt).statement(
        st, check_lang(lang))


def ageing_document(session: Session, *, as_of: dt.date, agreement: str | None = None,
                    party: str | None = None, agreement_codes: list[str] | None = None,
                    fmt: Format = "pdf", lang: str = "en") -> bytes:
    ag = data.ageing(session, as_of=as_of, agreement=agreement, party=party,
                     agreement_codes=agreement_codes)
    return _layout(fmt).ageing(
        ag, check_lang(lang))


def activity_document(session: Session, code: str, *, viewer_party: str | None = None,
                      fmt: Format = "pdf", lang: str = "en") -> bytes:
    reg = data.activity_register(session, code, viewer_party=viewer_party)
    return _layout(fmt).register(
        reg, check_lang(lang))


def annual_document(session: Session, *, party: str, fiscal_year: int,
                    agreement: str | None = None, fmt: Format = "pdf",
                    lang: str = "en") -> bytes:
    an = data.annual_report(session, party=party, fiscal_year=fiscal_year, agreement=agreement)
    return _layout(fmt).annual(
        an, check_lang(lang))


def write_atomically(path: Path, content: bytes) -> dict[str, object]:
    """Write the whole file beside its final name, flush it to disk, then rename it into
    place: a reader never sees half a document, and a failure leaves no file behind."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as e:
        raise errors.InvalidInput(f"-o: cannot write {path}: {e.strerror}",
                                  field="output") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise errors.InvalidInput(f"-o: cannot write {path}: {e.strerror}",
                                  field="output") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {"file": str(path), "sha256": hashlib.sha256(content).hexdigest(),
            "bytes": len(content)}
