"""The build report: the books (every raw row and every recorded choice released or with a
reason), the counts, and how it reads as markdown. It goes beside the release, never in it.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from builder import answers, decide, sources
from builder import quarantine as quarantined
from builder.errors import BuildError
from builder.stream import Streamed
from community_alignment import __version__, contract, schema


def make(
    src: sources.Source,
    streamed: Streamed,
    decisions: decide.Decisions,
    counts: dict,
    quarantine: pl.DataFrame,
) -> dict:
    """The report of a build: the source, the books (every raw row and every recorded choice
    is released or has a reason: a BuildError when they do not balance), the counts beside
    the published ones, the quarantine's reasons, the answers respelled or new, and the
    demographic overrides. ``counts`` are the tables step's, ``quarantine`` every entry."""
    rows = streamed.rows
    counts = {k: int(v) for k, v in counts.items()}
    row_quarantine = quarantined.rows_only(quarantine)
    turn_quarantine = quarantined.turns_only(quarantine)

    def choices_in(raw_rows: pl.DataFrame) -> int:
        return int(rows.join(raw_rows.select("raw_row"), on="raw_row")["choices_recorded"].sum())

    books = {
        "raw_rows": rows.height,
        "conversations_released": counts.get("conversations", 0),
        "rows_quarantined": row_quarantine.height,
        "duplicate_rows_dropped": decisions.duplicate_rows.height,
        "raw_turns_with_choice": int(rows["choices_recorded"].sum()),
        "comparisons": counts.get("comparisons", 0),
        "turns_quarantined": turn_quarantine.height,
        "choices_in_quarantined_rows": choices_in(row_quarantine),
        "choices_in_dropped_duplicates": choices_in(decisions.duplicate_rows),
    }
    checks = {
        "raw rows = released conversations + quarantined rows + dropped duplicates": (
            books["raw_rows"]
            == books["conversations_released"]
            + books["rows_quarantined"]
            + books["duplicate_rows_dropped"]
        ),
        "raw turns with a choice = comparisons + quarantined turns + choices in quarantined "
        "rows + choices in dropped duplicates": (
            books["raw_turns_with_choice"]
            == books["comparisons"]
            + books["turns_quarantined"]
            + books["choices_in_quarantined_rows"]
            + books["choices_in_dropped_duplicates"]
        ),
    }
    complete = counts.get("comparisons", 0) - counts.get("comparisons_with_incomplete_context", 0)
    # a complete-context comparison gives one unpaired row per candidate shown: its chosen one,
    # and one per pair; the other TRL configs have at most a row per conversation or comparison
    checks["unpaired rows = pairs + comparisons with a complete context"] = (
        counts.get("unpaired", 0) == counts.get("pairs", 0) + complete
    )
    checks["messages rows <= released conversations"] = counts.get("messages", 0) <= counts.get(
        "conversations", 0
    )
    checks["prompts rows <= comparisons with a complete context"] = (
        counts.get("prompts", 0) <= complete
    )
    report = {
        "source": src.provenance(),
        "builder_version": __version__,
        "books": books,
        "checks": checks,
        "counts": counts,
        "quarantine_reasons": quarantined.reason_counts(quarantine),
        "demographic_overrides": decisions.overrides.to_dicts(),
        "pairs_left_out": {
            "comparisons_with_incomplete_context": counts.get(
                "comparisons_with_incomplete_context", 0
            ),
        },
        "text": streamed.text,
        "answers": answers.report(streamed.answers),
        "published": beside_published(found_counts(streamed, books, counts)),
    }
    if not all(checks.values()):
        failed = [name for name, ok in checks.items() if not ok]
        raise BuildError(f"the build's books do not balance: {failed}; report: {json.dumps(books)}")
    return report


def found_counts(streamed: Streamed, books: dict, counts: dict) -> dict:
    """What this build counted, named as ``schema/raw.yaml`` names the published counts."""
    by_country = streamed.rows.filter(pl.col("country").is_not_null()).group_by("country").len()
    return {
        "raw_rows": books["raw_rows"],
        "conversations_by_country": dict(by_country.iter_rows()),
        "prompts_by_turn": streamed.raw_turns["prompts"],
        "choices_missing_by_turn": streamed.raw_turns["choices_missing"],
        "comparisons": books["comparisons"],
        "annotators": counts.get("annotators", 0),
        "explanations": counts.get("explanations", 0),
    }


def beside_published(found: dict) -> dict:
    """Each published count (``schema/raw.yaml``) beside the build's, flattened to one row per
    number (``conversations_by_country.in``), with whether they agree."""
    published = schema.load("raw")["published"]

    def flat(counts: dict, prefix: str = "") -> dict[str, int]:
        made = {}
        for key, value in counts.items():
            name = f"{prefix}{key}"
            made |= flat(value, f"{name}.") if isinstance(value, dict) else {name: int(value)}
        return made

    theirs, ours = flat(published["counts"]), flat(found)
    rows = {
        name: {"published": value, "found": ours.get(name, 0), "same": ours.get(name, 0) == value}
        for name, value in theirs.items()
    }
    return {"provenance": " ".join(published["provenance"].split()), "counts": rows}


def write(folder: Path, report: dict, quarantine: pl.DataFrame) -> None:
    (folder / "report.json").write_text(
        json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    quarantined.write(folder, quarantine)
    (folder / "report.md").write_text(render_report(report), encoding="utf-8")


def render_report(report: dict) -> str:
    lines = [
        "# Build report",
        "",
        f"Source: `{report['source']['origin']}` (sha256 `{report['source']['sha256']}`), "
        f"layout {report['source']['layout']}"
        + (f" ({report['source']['split']})" if report["source"]["split"] else ""),
        "",
    ]
    if "seconds" in report:
        cpu = report.get("cpu_seconds", {})
        lines += ["## Where the time went", "", "CPU seconds add up every thread's.", "",
                  "| step | seconds | CPU seconds |", "|---|---:|---:|"]  # fmt: skip
        lines += [
            f"| {step} | {seconds:.2f} | {cpu[step]:.2f} |" if step in cpu else
            f"| {step} | {seconds:.2f} | |"
            for step, seconds in report["seconds"].items()
        ]  # fmt: skip
        lines += [""]
    lines += ["## Books", "", "| count | value |", "|---|---:|"]
    lines += [f"| {k.replace('_', ' ')} | {v:,} |" for k, v in report["books"].items()]
    lines += ["", "## Checks", ""]
    lines += [f"- [{'x' if ok else ' '}] {name}" for name, ok in report["checks"].items()]
    lines += ["", "## Quarantine reasons", "", "| reason | entries | meaning |", "|---|---:|---|"]
    meanings = contract.quarantine_reasons()
    lines += [
        f"| {r} | {n:,} | {meanings.get(r, '')} |" for r, n in report["quarantine_reasons"].items()
    ]
    overrides = report["demographic_overrides"]
    lines += ["", f"## Demographic overrides ({len(overrides)})", ""]
    if overrides:
        lines += ["| annotator | field | kept | overridden | rows |", "|---|---|---|---|---:|"]
        lines += [
            f"| {o['annotator_id']} | {o['field']} | {o['value_kept']} | {o['value_overridden']} | {o['rows']} |"
            for o in overrides
        ]
    text = report["text"]
    lines += ["", "## Text hygiene (cells changed)", "", "| step | cells |", "|---|---:|"]
    lines += [f"| {kind.replace('_', ' ')} | {n:,} |" for kind, n in text["hygiene"].items()]
    mismatches = text["responses_cell_mismatches_by_turn"]
    lines += ["", "`{t}_turn_responses` cells that disagree with the four response columns: "
              + ", ".join(f"turn {t}: {n:,}" for t, n in mismatches.items())]  # fmt: skip
    spellings = sorted(text["responses_cell_spellings"].items(), key=lambda item: -item[1])
    shown = [f"`{label}` {n:,}" for label, n in spellings[:5]]
    if len(spellings) > 5:  # a file whose blocks come in every order
        shown.append(f"{len(spellings) - 5} more: {sum(n for _, n in spellings[5:]):,}")
    lines += ["", "Spellings of the cells that agree: " + "; ".join(shown)]
    found = report["answers"]
    lines += ["", "## Answers", ""]
    lines += [
        "Respelled answers (case, spacing or quotes differ from `schema/vocabularies.yaml`; "
        "read as the listed answer): "
        + (", ".join(f"{c}: {n:,}" for c, n in found["respelled"].items()) or "none")
    ]
    for title, key in (
        ("New answers kept (open vocabularies)", "new_in_open_vocabularies"),
        ("Unknown answers, rows quarantined", "unknown_quarantined"),
    ):
        for column, values in found[key].items():
            shown = ", ".join(f"`{v}` ({n:,})" for v, n in values.items())
            lines += ["", f"{title}, {column}: {shown}"]
    published = report["published"]
    lines += ["", "## Beside the published counts", "", published["provenance"], ""]
    lines += ["| count | published | this build | |", "|---|---:|---:|---|"]
    lines += [
        f"| {name} | {row['published']:,} | {row['found']:,} | {'' if row['same'] else 'differs'} |"
        for name, row in published["counts"].items()
    ]
    lines += ["", "## Rows per table", "", "| table | rows |", "|---|---:|"]
    lines += [f"| {table} | {report['counts'].get(table, 0):,} |" for table in schema.table_names()]
    left_out = report["pairs_left_out"]["comparisons_with_incomplete_context"]
    lines += [
        "",
        f"Comparisons left out of `pairs`, `unpaired` and `prompts` (incomplete context): "
        f"{left_out:,}",
        "",
    ]
    return "\n".join(lines)
