"""The release pipeline: raw Community Alignment CSV -> a Hub dataset release.

A build is a few threads on a few cores, and polars' allocator (jemalloc) gives it four
arenas per core by default; with one, a full-scale build spends about a second less in page
faults. polars appends ``_RJEM_MALLOC_CONF`` to its own allocator settings when it is first
imported, so this takes effect where the builder is imported first (``python -m builder``, a
fresh interpreter); a value set beforehand wins.

Arrow's own allocations go to its jemalloc pool rather than mimalloc (pyarrow's default on
Linux): a full-scale build then peaks about 85 MiB lower, in the same time
(``benchmarks/RESULTS.md``). Arrow reads ``ARROW_DEFAULT_MEMORY_POOL`` when it first
allocates, so the same holds: the builder imported first, and a value set beforehand wins.
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "narenas:1")
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
