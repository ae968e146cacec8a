"""Running two commands against one database at once, each in its own thread, engine and unit
of work, and collecting what each did."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from acsa.db.engine import make_engine, unit_of_work

Command = Callable[[Session], object]


@dataclass
class Outcome:
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _run(url: str, command: Command, out: Outcome, *, before: Callable[[], None],
         before_commit: Callable[[], None],
         on_engine: Callable[[Engine], None] = lambda e: None) -> None:
    engine = make_engine(url)
    on_engine(engine)
    try:
        before()
        with unit_of_work(engine) as s:
            try:
                command(s)
            finally:
                before_commit()
    except BaseException as e:  # noqa: BLE001 - reported to the test
        out.error = e
    finally:
        engine.dispose()


def held(url: str, first: Command, second: Command, hold: float = 0.6) -> tuple[Outcome, Outcome]:
    """The worst interleaving, made deterministic: `first` runs to just before its commit;
    `second` then starts and runs into it (or past it) for `hold` seconds; then `first`
    commits and `second` finishes."""
    ready, release = threading.Event(), threading.Event()
    a, b = Outcome(), Outcome()

    def first_waits() -> None:
        ready.set()
        release.wait(30)

    t1 = threading.Thread(target=_run, args=(url, first, a),
                          kwargs=dict(before=lambda: None, before_commit=first_waits))
    t2 = threading.Thread(target=_run, args=(url, second, b),
                          kwargs=dict(before=lambda: None, before_commit=lambda: None))
    t1.start()
    assert ready.wait(30), "the first command never reached its commit"
    t2.start()
    time.sleep(hold)
    release.set()
    t1.join(60)
    t2.join(60)
    assert not t1.is_alive() and not t2.is_alive(), "a racing command hung"
    return a, b


def free(url: str, first: Command, second: Command) -> tuple[Outcome, Outcome]:
    """Both commands released at the same instant."""
    barrier = threading.Barrier(2, timeout=30)
    a, b = Outcome(), Outcome()
    threads = [threading.Thread(target=_run, args=(url, cmd, out),
                                kwargs=dict(before=barrier.wait, before_commit=lambda: None))
               for cmd, out in ((first, a), (second, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a racing command hung"
    return a, b


ORDER_LOCK = re.compile(r"FROM orders\b.*FOR UPDATE", re.S)


def crossed(url: str, first: Command, second: Command,
            wait: float = 3.0) -> tuple[Outcome, Outcome]:
    """Each command pauses right after locking its first order row until the other has locked
    one too (or `wait` seconds pass, as on SQLite where the second cannot begin meanwhile):
    commands that lock the same orders in opposite order then meet head on."""
    locked = [threading.Event(), threading.Event()]
    a, b = Outcome(), Outcome()

    def pause_after_first_order_lock(me: int) -> Callable[[Engine], None]:
        def attach(engine: Engine) -> None:
            @event.listens_for(engine, "after_cursor_execute")
            def _after(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
                if not locked[me].is_set() and ORDER_LOCK.search(statement):
                    locked[me].set()
                    locked[1 - me].wait(wait)
        return attach

    threads = [threading.Thread(target=_run, args=(url, cmd, out), kwargs=dict(
        before=lambda: None, before_commit=lambda: None,
        on_engine=pause_after_first_order_lock(i)))
        for i, (cmd, out) in enumerate(((first, a), (second, b)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not any(t.is_alive() for t in threads), "a racing command hung"
    return a, b


RACES = {"held": held, "free": free}
