"""Cyclic garbage collection paused while a report or a summary makes many objects.

Reports and reconciliation summaries make tens or hundreds of thousands of small objects (rows,
tuples, strings) that hold no cycles and are all kept until the caller is done: each automatic
collection while they are made would walk them again (and every other live object of the
process, in an older generation's turn) to free nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic garbage collection inside; as it was found afterwards.

    What was made inside then waits in the youngest generation, and the first collection
    after it walks it once. (Moving it to the oldest generation unwalked, with `gc.freeze` and
    `gc.unfreeze`, saved that walk, 12 ms for the ageing of 27,000 open claims, but took every
    other thread's young objects along, and CPython counts none of them towards its next full
    collection: in a long-running server, garbage cycles piled up uncollected.)"""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
