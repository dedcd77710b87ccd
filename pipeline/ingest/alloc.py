"""Garbage-collector settings for the bulk phases of a run.

Reading 1,000 forms creates ~100 container objects per form in the parent (unpickled cells, then
submissions) and none of them form reference cycles. Every 700 allocations CPython runs a collection, and
the older generations rescan the whole heap (pandas and the plan included): measured, that tripled the
cost of unpickling a form in the parent (0.1 → 0.3+ ms). Pausing the collector while those objects are
made, and letting it run normally afterwards, avoids that without changing what is computed.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic collection inside the block; nests, and restores the previous state."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def detach_inherited_heap() -> None:
    """In a freshly forked worker: keep the collector away from the parent's objects.

    A full collection would walk (and, by writing their GC headers, copy page by page) every object the
    worker inherited; freezing moves them out of the collector's sight. The worker's own garbage is still
    collected as usual.
    """
    gc.freeze()
    gc.enable()
