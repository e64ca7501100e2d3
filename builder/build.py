"""The build: raw CSV -> cleaned turns (streamed) -> decisions -> tables -> release + report.

Each step is a module with one job (``stream``, ``decide``, ``parts`` for the tables, ``card``,
``release``); this one runs them in order, adds up what each kept and set aside, and times
them for the report.
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from builder import answers, card, decide, parts, quarantine, raw, release, report, sources, stream
from builder.config import BuildConfig
from builder.errors import BuildError
from community_alignment import __version__


@dataclass
class BuildResult:
    release: Path
    report_dir: Path
    report: dict = field(default_factory=dict)


class _Clock:
    """Wall time of each step of a build, and the CPU time its threads spent in it, for the
    report (where a build spends its time, and how busy it kept the cores)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._last, self._last_cpu = time.perf_counter(), time.process_time()

    def lap(self, step: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.laps[step] = round(now - self._last, 3)
        self.cpu[step] = round(cpu - self._last_cpu, 3)
        self._last, self._last_cpu = now, cpu


def default_report_dir(out: Path) -> Path:
    return out.parent / f"{out.name}.build"


def build(
    source: str | Path,
    out: str | Path,
    *,
    report_dir: str | Path | None = None,
    split: str | None = None,
    repo_id: str | None = None,
    iw_labels: str | Path | None = None,
    expected_sha256: str | None = None,
    config: BuildConfig | None = None,
    **settings: Any,
) -> BuildResult:
    """Build a release folder from the raw file; the report goes beside it, never inside.

    ``config`` (or its fields given as keywords, e.g. ``progress=True``) says how the build
    uses the machine; it never changes what is written.
    """
    config = replace(config or BuildConfig(), **settings)
    out = Path(out).resolve()
    report_dir = Path(report_dir).resolve() if report_dir else default_report_dir(out)
    if report_dir == out or out in report_dir.parents:
        raise BuildError(f"the report folder {report_dir} must not be inside the release {out}")
    clock = _Clock()
    src = sources.locate(source, split=split)
    header = raw.check_header(src.path)
    clock.lap("source: find, header")
    with (
        release.staged(out) as root,
        release.staged(report_dir) as report_root,
        ThreadPoolExecutor(max_workers=1) as aside,
    ):
        # the checksum is taken while the file streams (hashlib lets go of the GIL), then what
        # the tables and the card need from outside the data is readied while the workers are
        # in polars
        digest = aside.submit(release.file_sha256, src.path)
        prepared = aside.submit(card.prepare, root, iw_labels)
        work = report_root / "_work"
        streamed = stream.stream(src.path, header, work, config)
        pa.default_memory_pool().release_unused()  # the reader's buffers, before the tables
        src = sources.with_checksum(src, digest.result(), expected_sha256)
        if stop := answers.unknown_error(streamed.answers, src.path):
            raise BuildError(stop)
        clock.lap("stream: read, clean, turns, work files; checksum")
        decisions = decide.decide(streamed.rows)
        clock.lap("decide: duplicates, conflicts, demographics")
        outputs = parts.write_tables(root, work, decisions, config)
        removed = aside.submit(shutil.rmtree, work)  # while the card is made
        clock.lap(
            "tables: comparisons, pairs, unpaired, conversations, messages, prompts, annotators"
        )
        set_aside = quarantine.combine([decisions.quarantine, outputs["quarantine"]])
        made = report.make(src, streamed, decisions, outputs["counts"], set_aside)
        prepared.result()
        card.write(root, outputs["shards"], src.provenance(), made, repo_id, iw_labels)
        removed.result()  # the work files, removed while the card was made
        clock.lap("card: statistics, agreement, figures; work files removed")
        release.write_manifest(
            root, src.provenance(), outputs["shards"], __version__, card.release_version()
        )
        clock.lap("manifest: checksums")
        made["seconds"] = clock.laps  # in the report beside the release, never in it
        made["cpu_seconds"] = clock.cpu
        report.write(report_root, made, set_aside)
    return BuildResult(release=out, report_dir=report_dir, report=made)
