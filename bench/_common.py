"""Shared by the benchmark scripts: where they write, and how they print their figures."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
if str(ROOT) not in sys.path:  # the scripts reuse the test world in tests/factories.py
    sys.path.insert(0, str(ROOT))


def fresh(path: Path) -> Path:
    """`path` under bench/out/, with any SQLite file (and its -wal, -shm) from a past run gone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def home(name: str) -> Path:
    """An acsa home of the benchmark's own, so no user file is read."""
    path = OUT / f"{name}-home"
    (path / "agreements").mkdir(parents=True, exist_ok=True)
    os.environ["ACSA_HOME"] = str(path)
    os.environ.pop("ACSA_DATABASE_URL", None)
    os.environ.pop("ACSA_AGREEMENTS_DIR", None)
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        first = r[0].ljust(widths[0])
        return "  ".join([first] + [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "inf"
