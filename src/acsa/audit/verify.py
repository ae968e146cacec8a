"""Checking a stretch of the audit chain straight from a SQLite file, with the standard library
only: `audit.service.verify` checks the last stretch of a long chain itself while child
processes, started bare (`python -I -S verify.py FILE FIRST LAST`, no acsa or SQLAlchemy to
import), check the stretches before it. Each link's check needs only the event's own row (its
stored prev_hash, its fields, its stored hash), so stretches are independent; what joins them
is checked by the caller: each stretch's first prev_hash must be the hash that ends the
stretch before it (GENESIS for the first), and the whole must end at the head.

For each row SQLite hands over three values through the raw cursor, in batches: the stored
hash (only when prev_hash is 64 bytes long), the bytes SHA-256 hashes (prev_hash, US, seq, US,
... payload, made by one printf and cast to a BLOB), and the sum of its parts' lengths in bytes.
So no Python code runs per event: a batch is hashed and compared with `map` and tuple
comparisons, and its links by comparing the first 65 bytes of each row's input (prev_hash and
US) with the hashes just checked before it. printf makes the bytes in one go where `||` makes
a new string for each of its sixteen steps (half of SQLite's time here), but its %s stops at a
NUL inside a value, so that "x\0anything" would hash as "x": the input must be exactly as long
as its parts, which holds only when no value holds a NUL, and then the bytes are the same.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from dataclasses import dataclass
from operator import itemgetter

# the chain's own constants (audit.chain; a test holds them equal): this module imports
# nothing of acsa so a child process can run it without the package on its path
GENESIS = "0" * 64
SEP = "\x1f"

_FIELDS = ("prev_hash", "seq", "at", "party", "actor", "action", "subject", "order_hash",
           "payload")
_LINK_INPUT = """
SELECT CASE WHEN length(CAST(prev_hash AS BLOB)) = 64 THEN hash END,
       CAST(printf('{format}', {fields}) AS BLOB),
       {lengths} + {separators}
FROM audit_events WHERE seq BETWEEN ? AND ? ORDER BY seq""".format(
    format=SEP.join("%s" for _ in _FIELDS), fields=", ".join(_FIELDS),
    lengths=" + ".join(f"length(CAST({f} AS BLOB))" for f in _FIELDS),
    separators=len(_FIELDS) - 1)

BATCH = 500  # rows per fetch: small enough for the CPU's caches


@dataclass(frozen=True)
class Stretch:
    """Events first..last are all there and each hashes to its stored hash and links to the
    one before it; what joins it to its neighbours: the first event's prev_hash and the last
    event's hash."""

    first: int
    last: int
    prev_hash: str
    head: str


def check_stretch(conn: sqlite3.Connection, first: int, last: int) -> Stretch | None:
    """Events `first`..`last` (first <= last) checked on `conn`; None when anything is not
    as it should be (a missing event, a hash or link that does not hold, a NULL or a
    prev_hash not 64 bytes long): the caller then walks the chain the slow way to name the
    first break."""
    cursor = conn.cursor()
    cursor.arraysize = BATCH
    sha, hexdigest = hashlib.sha256, type(hashlib.sha256()).hexdigest
    prefix_of = itemgetter(slice(0, 65))
    rows_seen, prev_hash, prev = 0, "", ""
    try:
        cursor.execute(_LINK_INPUT, (first, last))
        while rows := cursor.fetchmany():
            stored, inputs, lengths = zip(*rows, strict=True)
            if not rows_seen:
                prev_hash = prev = inputs[0][:64].decode()
            if tuple(map(len, inputs)) != lengths:  # a NUL inside a value (or a NULL)
                return None
            if tuple(map(hexdigest, map(sha, inputs))) != stored:
                return None
            # every stored hash here is now 64 hex characters: equal joins are equal prefixes
            if b"".join(map(prefix_of, inputs)) != (SEP.join([prev, *stored[:-1]])
                                                      + SEP).encode():
                return None
            prev = stored[-1]
            rows_seen += len(rows)
    except (TypeError, UnicodeDecodeError):  # a NULL, or a prev_hash that is no text
        return None
    except sqlite3.OperationalError as e:
        # a stored hash holding bytes that are not UTF-8 (written behind acsa's back), which
        # the driver cannot hand over as text: a broken link, named by the slow walk
        if "decode" not in str(e):
            raise
        return None
    finally:
        cursor.close()
    # seq is the integer primary key: as many rows as numbers in first..last means all of them
    if rows_seen != last - first + 1:
        return None
    return Stretch(first, last, prev_hash, prev)


def chained(stretches: list[Stretch | None], count: int) -> bool:
    """Whether the stretches, in order, make the whole chain 1..count: each one holds, starts
    where the one before ended (the first at GENESIS) and ends where the next begins."""
    expected_seq, expected_prev = 1, GENESIS
    for s in stretches:
        if s is None or s.first != expected_seq or s.prev_hash != expected_prev:
            return False
        expected_seq, expected_prev = s.last + 1, s.head
    return expected_seq == count + 1


def report(s: Stretch | None) -> str:
    """A child's answer on its stdout: "ok", the first prev_hash in hex of its UTF-8 (it
    could hold any text until the caller compares it) and the head; or "broken"."""
    return f"ok {s.prev_hash.encode().hex()} {s.head}" if s else "broken"


def read_report(text: str, first: int, last: int) -> Stretch | None:
    """`report`'s answer back; ValueError when it is neither (the child failed)."""
    words = text.split()
    if words == ["broken"]:
        return None
    if len(words) == 3 and words[0] == "ok":
        return Stretch(first, last, bytes.fromhex(words[1]).decode(), words[2])
    raise ValueError(f"not a stretch check's answer: {text[:80]!r}")


def _main(argv: list[str]) -> int:
    """FILE FIRST LAST: prints `report`; any other outcome (an error, a database it cannot
    read or that is locked) exits non-zero, and the caller checks the stretch itself."""
    path, first, last = argv[0], int(argv[1]), int(argv[2])
    from urllib.parse import quote

    # read-only, and no waiting: a lock held by the caller would never be let go meanwhile
    conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=0,
                           isolation_level=None)
    try:
        conn.execute("BEGIN")  # one snapshot for the whole stretch
        s = check_stretch(conn, first, last)
    finally:
        conn.close()
    print(report(s))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
