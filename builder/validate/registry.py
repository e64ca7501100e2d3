"""The registry of checks: the :func:`check` decorator, a check's result and the report of
them all, and running every registered check on a release folder (:func:`validate`)."""

from __future__ import annotations

import inspect
import json
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from builder.errors import BuildError
from builder.validate.reader import Release, first_line
from community_alignment import contract as layout

GROUPS = ("card", "data", "contract", "statistics", "manifest", "loading")
HF_RELEASE = re.compile(r"^hf://datasets/(?P<repo>[^/@]+/[^/@]+?)(?:@(?P<rev>.+?))?/?$")
SHOWN = 3  # offenders named in a message besides the first


# --- results --------------------------------------------------------------------------------------


@dataclass
class CheckResult:
    """The outcome of one check: ``count`` offending things, the ``first`` of them."""

    check: str
    group: str
    ok: bool
    count: int = 0
    first: str | None = None
    message: str = ""
    skipped: bool = False
    seconds: float = 0.0


@dataclass
class ValidationReport:
    release: str
    results: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]

    def __getitem__(self, check: str) -> CheckResult:
        for result in self.results:
            if result.check == check:
                return result
        raise KeyError(f"no check named {check!r}; checks: {[r.check for r in self.results]}")

    def to_dict(self) -> dict:
        return {
            "release": self.release,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "failed": [r.check for r in self.failed],
            "checks": [asdict(r) | {"seconds": round(r.seconds, 3)} for r in self.results],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def render(self) -> str:
        verdict = (
            "valid"
            if self.ok
            else f"INVALID: {len(self.failed)} of {len(self.results)} checks failed"
        )
        lines = [f"Release {self.release}: {verdict} ({self.seconds:.1f} s)"]
        for group in GROUPS:
            results = [r for r in self.results if r.group == group]
            if not results:
                continue
            passed = sum(r.ok for r in results)
            lines += ["", f"{group} ({passed}/{len(results)} passed)"]
            for r in results:
                if r.ok:
                    lines.append(f"  ✓ {r.check}: {r.message}")
                elif r.skipped:
                    lines.append(f"  ✗ {r.check}: {r.message}")
                else:
                    lines.append(f"  ✗ {r.check} ({r.count} offending; first: {r.first})")
                    lines.append(f"      {r.message}")
        return "\n".join(lines) + "\n"


@dataclass
class Problem:
    where: str  # the offending file, row or id
    what: str  # what is wrong there


@dataclass
class Check:
    """A registered check; its docstring's first line says what holds, its `Fix:` what to do."""

    name: str
    group: str
    needs: tuple[str, ...]  # "card", "manifest", "data": what must be readable to run it
    run: Callable[[Release], Iterable[Problem]]

    @property
    def holds(self) -> str:
        return inspect.getdoc(self.run).split("\n\n")[0].replace("\n", " ")

    @property
    def fix(self) -> str:
        text = inspect.getdoc(self.run).split("Fix:", 1)
        return " ".join(text[1].split()) if len(text) > 1 else "rebuild the release"


CHECKS: list[Check] = []


def check(name: str, group: str, *, needs: tuple[str, ...] = ()):
    """Register a check: a function yielding a Problem per offending thing, documented with what
    holds (first line) and a `Fix:` paragraph."""

    def register(function: Callable[[Release], Iterable[Problem]]):
        if not function.__doc__ or "Fix:" not in function.__doc__:
            raise ValueError(f"check {name} needs a docstring with a `Fix:` paragraph")
        if group not in GROUPS:
            raise ValueError(f"check {name}: group {group!r} is not one of {GROUPS}")
        CHECKS.append(Check(name, group, needs, function))
        # run and reported group by group, in GROUPS order, whichever module registers first
        CHECKS.sort(key=lambda c: GROUPS.index(c.group))
        return function

    return register


def _missing_need(release: Release, need: str) -> str | None:
    if need == "card":
        return release.card[2]
    if need == "manifest":
        return release.manifest[1]
    if need == "data":
        return None if release.has_data else "no data file could be read"
    raise ValueError(f"unknown need {need!r}")


def _run(release: Release, item: Check) -> CheckResult:
    start = time.perf_counter()
    for need in item.needs:
        reason = _missing_need(release, need)
        if reason:
            return CheckResult(
                item.name,
                item.group,
                ok=False,
                skipped=True,
                first=None,
                message=f"not checked: {reason}",
            )
    try:
        problems = list(item.run(release))
    except Exception as error:  # noqa: BLE001 - a crashing check is a failed check
        problems = [Problem("(check crashed)", f"{first_line(error)}; the release is malformed")]
    seconds = time.perf_counter() - start
    if not problems:
        return CheckResult(item.name, item.group, True, message=item.holds, seconds=seconds)
    first = problems[0]
    message = f"{first.where}: {first.what}"
    if len(problems) > 1:
        others = "; ".join(f"{p.where}: {p.what}" for p in problems[1 : 1 + SHOWN])
        more = len(problems) - 1 - SHOWN
        message += f" (also {others}{f'; and {more} more' if more > 0 else ''})"
    return CheckResult(
        item.name,
        item.group,
        ok=False,
        count=len(problems),
        first=first.where,
        message=f"{message}. Fix: {item.fix}",
        seconds=seconds,
    )


def check_names(*, load: bool = True) -> list[str]:
    return [c.name for c in CHECKS if load or c.group != "loading"]


def validate(
    release_dir: str | Path, *, load: bool = True, iw_labels: str | Path | None = None
) -> ValidationReport:
    """Run every check on a release folder or ``hf://datasets/ORG/NAME[@REV]``; ``iw_labels``
    is the labels file the build was given, without which the card's IW summaries of labels
    cannot be recomputed."""
    text = str(release_dir)
    if text.startswith("hf://"):
        with hub_snapshot(text) as folder:
            report = validate_folder(
                folder, load=load, ignore=(".gitattributes",), iw_labels=iw_labels
            )
        report.release = text
        return report
    return validate_folder(Path(release_dir), load=load, iw_labels=iw_labels)


def validate_folder(
    folder: Path,
    *,
    load: bool = True,
    ignore: Iterable[str] = (),
    iw_labels: str | Path | None = None,
) -> ValidationReport:
    folder = Path(folder)
    if not folder.is_dir():
        raise BuildError(f"{folder} is not a folder: nothing to validate")
    card, data = layout.card_name(), layout.data_folder()
    if not (folder / card).exists() and not (folder / data).exists():
        raise BuildError(f"{folder} is not a release folder: it has no {card} and no {data}/")
    if iw_labels is not None and not Path(iw_labels).is_file():
        raise BuildError(f"{iw_labels}: no such IW labels file")
    start = time.perf_counter()
    labels = Path(iw_labels).resolve() if iw_labels is not None else None
    release = Release(folder.resolve(), ignore=ignore, iw_labels=labels)
    report = ValidationReport(release=str(folder))
    for item in CHECKS:
        if item.group == "loading" and not load:
            continue
        report.results.append(_run(release, item))
    report.seconds = time.perf_counter() - start
    return report


@contextmanager
def hub_snapshot(source: str) -> Iterator[Path]:
    """Download ``hf://datasets/ORG/NAME[@REV]`` to a temporary folder, removed afterwards."""
    match = HF_RELEASE.match(source)
    if not match:
        raise BuildError(f"cannot read {source!r}: expected hf://datasets/ORG/NAME[@REVISION]")
    from huggingface_hub import snapshot_download

    with tempfile.TemporaryDirectory(prefix="validate-hub-") as cache:
        try:
            folder = snapshot_download(
                match["repo"], repo_type="dataset", revision=match["rev"], cache_dir=cache
            )
        except Exception as error:  # noqa: BLE001 - the Hub client's many kinds, said in one line
            raise BuildError(f"cannot read {source}: {first_line(error)}") from error
        yield Path(folder)
