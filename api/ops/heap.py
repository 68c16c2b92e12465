"""The garbage collector of a serving process, set for many short requests on a large heap.

CPython's cyclic collector runs its youngest generation every 700 new containers; a list
request makes several thousand (rows, records, answer dicts), so it ran several times per
request and moved whatever requests were in flight (16 at a time under load) into the older
generations, until a full collection walked the whole heap: the schema, SQLAlchemy's tables,
every imported module, some 200 000 objects, for 100 to 200 ms, during which no request was
answered (bench/graphql_bench.py saw 500 ms stalls; ~0.5 ms of CPU per request on average).

So once the app has started, everything it made until then (modules, schema, metadata, the
seeded rules) is frozen out of collection (``gc.freeze``: it lives as long as the process
anyway), and the youngest generation is collected every ``YOUNG`` containers instead of 700, so
a request's objects are mostly gone (freed by reference counting) before a collection sees
them. Cycles are still collected; they wait a little longer."""

from __future__ import annotations

import gc

YOUNG = 10_000


def settle_after_start() -> None:
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
