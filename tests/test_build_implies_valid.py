"""Build implies valid: a raw file made from the sample with random faults either stops the
build with a BuildError that names the problem, or gives a release its own validator accepts;
a failed build leaves the previous release as it was."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from builder.build import build
from builder.errors import BuildError
from builder.validate import validate
from community_alignment import schema

SAMPLE = (
    Path(__file__).resolve().parent.parent / "builder" / "sample" / "community_alignment_sample.csv"
)
ROWS = 24  # the sample's first rows: enough for every country, small enough to build fast
TRIED: Counter = Counter()  # fault kinds drawn, for the record (printed with -s)

# what a BuildError may say for each kind of fault; any other failure is a bug
STOPS = {
    "outside_vocabulary": r"outside the closed vocabularies",
    "extra_column": r"named twice",
    "truncated": r"ragged or truncated|truncated or badly quoted|it is truncated",
    "not_utf8": r"not UTF-8",
    "dropped_column": r"the header lacks",
}


def sample_rows() -> tuple[list[str], list[dict]]:
    with open(SAMPLE, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), [
            row for _, row in zip(range(ROWS), reader, strict=False)
        ]


HEADER, BASE = sample_rows()
VOCABULARY_COLUMNS = ["annotator_country", "annotator_age", "annotator_gender",
                      "annotator_education_level", "annotator_political", "wave",
                      "is_pregenerated_first_prompt", "in_balanced_subset"]  # fmt: skip
WORDS = ["zz", "Maybe", "3", "non-binary", "25-34", "Atlantis", "\u2713"]


def respelled(value: str, how: int) -> str:
    return [value.upper(), f"  {value} ", value.replace(" ", "  "), value.replace("'", "\u2019"),
            value.lower()][how]  # fmt: skip


KINDS = [
    "outside_vocabulary", "respelled", "bad_pick", "missing_cell", "duplicate_row",
    "conflicting_row", "junk_marker", "carriage_return", "byte_order_mark", "truncated",
    "not_utf8", "reordered_columns", "extra_column", "dropped_column",
]  # fmt: skip
# a fault: its kind, the row it hits, and a number that picks the rest (column, value, ...)
faults = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, ROWS - 1), st.integers(0, 10_000)),
    min_size=1,
    max_size=3,
)


def _every_kind_once(test):
    """Each kind of fault alone, as an explicit example, besides the random mixes."""
    for kind in KINDS:
        test = example([(kind, 3, 7)])(test)
    return test


def faulty_file(drawn: list[tuple[str, int, int]]) -> bytes:
    """The sample's first rows with the faults ``drawn`` put in, as the bytes of a raw file."""
    rows = [dict(row) for row in BASE]
    header = list(HEADER)
    kinds = {kind for kind, _, _ in drawn}
    for kind, at, pick in drawn:
        TRIED[kind] += 1
        row = rows[at]
        if kind == "outside_vocabulary":
            row[VOCABULARY_COLUMNS[pick % len(VOCABULARY_COLUMNS)]] = WORDS[pick % len(WORDS)]
        elif kind == "respelled":
            column = VOCABULARY_COLUMNS[pick % len(VOCABULARY_COLUMNS)]
            row[column] = respelled(row[column], pick % 5)
        elif kind == "bad_pick":
            prefix = ["first", "second", "third", "fourth"][pick % 4]
            row[f"{prefix}_turn_preferred_response"] = ["response_e", "a", "", "RESPONSE_B"][
                pick // 4 % 4
            ]
        elif kind == "missing_cell":
            row[HEADER[pick % len(HEADER)]] = ["", "EMPTY STRING"][pick % 2]
        elif kind == "duplicate_row":
            rows.append(dict(row))
        elif kind == "conflicting_row":
            rows.append(dict(row, first_turn_feedback="changed"))
        elif kind == "junk_marker":
            row["first_turn_response_a"] = row["first_turn_response_a"] + " <|end_of_text|>"
        elif kind == "carriage_return":
            row["first_turn_prompt"] = row["first_turn_prompt"].replace(" ", "\r\n", 1)
        elif kind == "reordered_columns":
            header = header[pick % len(header) :] + header[: pick % len(header)]
        elif kind == "extra_column":
            header = [*header, f"notes_{pick}"]
            for each in rows:
                each[f"notes_{pick}"] = "x"
        elif kind == "dropped_column":
            dropped = schema.raw_column_names()[pick % len(schema.raw_column_names())]
            header = [name for name in header if name != dropped]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = out.getvalue().encode("utf-8")
    picks = {kind: pick for kind, _, pick in drawn}
    if "byte_order_mark" in kinds:
        data = b"\xef\xbb\xbf" + data
    if "truncated" in kinds:
        data = data[: data.rindex(b"\n", 0, len(data) - 1) + 2 + picks["truncated"] % 40]
    if "not_utf8" in kinds:
        at = len(data) // 2 + picks["not_utf8"] % (len(data) // 2 - 1)
        data = data[:at] + b"\xff" + data[at:]
    return data


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> tuple[Path, Path]:
    """A good release of the same rows, built once; each example builds over a copy of it."""
    folder = tmp_path_factory.mktemp("previous")
    good = folder / "raw.csv"
    with open(good, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(BASE)
    return good, build(good, folder / "release").release


# bounded so that CI stays fast: each example builds and validates a small release; a failing
# example is reported as drawn (kinds and numbers, small), without shrinking, which is slow here
@settings(max_examples=15, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(faults)
@_every_kind_once
def test_a_faulty_file_stops_with_its_reason_or_builds_a_valid_release(
    tmp_path_factory, previous, drawn
):
    import shutil

    data, kinds = faulty_file(drawn), {kind for kind, _, _ in drawn}
    folder = tmp_path_factory.mktemp("faulty")
    out = folder / "release"
    shutil.copytree(previous[1], out)
    before = snapshot(out)
    (folder / "raw.csv").write_bytes(data)
    try:
        result = build(folder / "raw.csv", out)
    except BuildError as error:
        allowed = [STOPS[kind] for kind in kinds if kind in STOPS]
        assert allowed and any(re.search(p, str(error)) for p in allowed), (kinds, str(error))
        assert "\n" not in str(error)
        assert snapshot(out) == before  # the previous release is as it was
        return
    report = validate(result.release, load=False)
    assert report.ok, (kinds, [str(r) for r in report.failed][:3])


@pytest.fixture(scope="module", autouse=True)
def _say_what_was_tried():
    yield
    print("\nfault kinds tried (examples):", dict(sorted(TRIED.items())))  # shown with -s
