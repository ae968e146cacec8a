"""Loading agreement files into the database and reading them back as `Agreement` objects."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from acsa import config, errors
from acsa.agreements import loader
from acsa.agreements.domain import Agreement
from acsa.agreements.models import AgreementRecord
from acsa.audit import service as audit
from acsa.audit.chain import canonical_json
from acsa.db.base import utcnow


def load(session: Session, folder: Path | None = None) -> list[tuple[str, str]]:
    """Validate the bundled files and the user's folder, then store every agreement whose
    definition changed. Returns (code, what happened) pairs. All or nothing."""
    folder = folder or config.agreements_dir()
    found = loader.load_all(loader.bundled_files() + loader.user_files(folder))
    outcome = []
    for code, (agreement, source) in sorted(found.items()):
        definition = agreement.model_dump(mode="json")
        digest = hashlib.sha256(canonical_json(definition).encode()).hexdigest()
        row = session.get(AgreementRecord, code)
        if row is not None and row.sha256 == digest:
            outcome.append((code, f"unchanged (version {row.version})"))
            continue
        if row is not None and agreement.version < row.version:
            raise errors.AgreementFileInvalid(
                f"{source}: field 'version': {code} version {agreement.version} is older than "
                f"the loaded version {row.version}", field="version")
        if row is not None and agreement.version == row.version \
                and _same_version_differs(row, definition):
            raise errors.AgreementFileInvalid(
                f"{source}: field 'version': {code} version {agreement.version} is already "
                "loaded with another definition; a change needs a higher version",
                field="version")
        action = "agreement.loaded" if row is None else "agreement.amended"
        if row is None:
            row = AgreementRecord(code=code)
            session.add(row)
        row.version, row.definition, row.sha256 = agreement.version, definition, digest
        row.source, row.loaded_at = source, utcnow()
        session.flush()
        audit.append(session, party="", actor="admin", action=action, subject=f"agreement:{code}",
                     order_hash=digest, payload={"version": agreement.version, "source": source})
        outcome.append((code, f"{'loaded' if action.endswith('loaded') else 'amended'} "
                              f"(version {agreement.version})"))
    return outcome


def _same_version_differs(row: AgreementRecord, definition: dict[str, object]) -> bool:
    """Whether the stored definition, read by this release (whose defaults may have changed
    the stored form alone), says something other than `definition`."""
    try:
        return _parse(row).model_dump(mode="json") != definition
    except ValidationError:  # stored by a release whose shape this one no longer reads
        return False


_PARSED: dict[str, Agreement] = {}


def _parse(row: AgreementRecord) -> Agreement:
    """The validated agreement of a stored row, parsed once per definition (by its hash)."""
    agreement = _PARSED.get(row.sha256)
    if agreement is None:
        agreement = _PARSED[row.sha256] = Agreement.model_validate(row.definition)
    return agreement


def get(session: Session, code: str) -> Agreement:
    row = session.get(AgreementRecord, code.upper())
    if row is None:
        codes = ", ".join(session.scalars(select(AgreementRecord.code))) or "none loaded"
        raise errors.NotFound(f"no agreement {code!r}", field="agreement",
                              hint=f"Agreements: {codes}. Load files with `acsa agreements load`.")
    return _parse(row)


def list_agreements(session: Session) -> list[tuple[AgreementRecord, Agreement]]:
    rows = session.scalars(select(AgreementRecord).order_by(AgreementRecord.code))
    return [(r, _parse(r)) for r in rows]


def list_for_party(session: Session, party: str) -> list[tuple[AgreementRecord, Agreement]]:
    """The agreements `party` is a party to (a party sees no other)."""
    return [(r, a) for r, a in list_agreements(session) if party in a.parties]


def get_for_party(session: Session, code: str, party: str) -> Agreement:
    """The agreement, if `party` is a party to it; any other is reported as not found, exactly
    like one that does not exist (and the hint names only the party's own agreements)."""
    row = session.get(AgreementRecord, code.upper())
    agreement = _parse(row) if row is not None else None
    if agreement is None or party not in agreement.parties:
        own = ", ".join(a.code for _, a in list_for_party(session, party)) or "none"
        raise errors.NotFound(f"no agreement {code!r}", field="agreement",
                              hint=f"Agreements of {party}: {own}.")
    return agreement
