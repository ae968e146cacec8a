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

    Objects made while collection is off all wait in the youngest generation, and the first
    collection after it is switched back on would walk every one of them (a sixth of the
    ageing report's Python time for 27,000 open claims). So, unless someone else has frozen
    objects, they are first moved to the oldest generation as they are (`gc.freeze` then
    `gc.unfreeze`, which move whole generations without walking them): the next full
    collection looks at them, as it would have once they had aged there. Any other young
    object goes along; a cycle among them is freed by that full collection instead of a young
    one."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()
