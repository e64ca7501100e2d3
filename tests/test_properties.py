"""Property-based: random valid conversations survive the build; random corruption is either
quarantined with a reason or stops the build, and the books always balance."""

from __future__ import annotations

import unicodedata

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder.build import build
from builder.errors import BuildError
from community_alignment import schema
from community_alignment.load import scan
from tests.conftest import PREFIXES, raw_row, write_raw

LETTERS = [str(c) for c in schema.codes("choice")]
COUNTRIES = {"us": ("united states", "en"), "fr": ("france", "fr"), "in": ("india", "hi")}
SETTINGS = settings(
    max_examples=20, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip

# Released text is NFC, without CR, BOM or control characters, not blank, and not a marker.
text = (
    st.text(
        st.characters(blacklist_categories=["Cc", "Cs", "Co", "Cn"], blacklist_characters="\ufeff")
        | st.sampled_from(list(",\"'\n ")),
        min_size=1,
        max_size=40,
    )
    .map(lambda value: unicodedata.normalize("NFC", value))
    .filter(lambda value: value.strip() and value.strip() != "EMPTY STRING")
)


@st.composite
def conversation(draw, number: int) -> dict:
    turns = draw(st.integers(1, 4))
    country = draw(st.sampled_from(sorted(COUNTRIES)))
    cells, expected = {}, []
    for index, prefix in enumerate(PREFIXES[:turns]):
        prompt = draw(text)
        responses = [draw(text) for _ in LETTERS]
        choice = draw(st.one_of(st.none(), st.integers(0, 3)))
        explanation = draw(st.one_of(st.none(), text)) if choice is not None else None
        cells[f"{prefix}_turn_prompt"] = prompt
        for letter, response in zip(LETTERS, responses, strict=True):
            cells[f"{prefix}_turn_response_{letter}"] = response
        cells[f"{prefix}_turn_preferred_response"] = (
            "" if choice is None else f"response_{LETTERS[choice]}"
        )
        cells[f"{prefix}_turn_feedback"] = explanation or ""
        expected.append({"turn": index + 1, "prompt": prompt, "responses": responses,
                         "choice": choice, "explanation": explanation})  # fmt: skip
    raw_country, language = COUNTRIES[country]
    # one annotator per country, so country never conflicts
    row = raw_row(str(number), f"9{country.encode().hex()}", turns=turns, language=language,
                  country=raw_country, **cells)  # fmt: skip
    for prefix in PREFIXES[turns:]:
        for key in [k for k in row if k.startswith(f"{prefix}_turn_")]:
            row[key] = ""
    return {"row": row, "turns": expected, "country": country}


conversations = st.integers(1, 6).flatmap(
    lambda n: st.tuples(*(conversation(number) for number in range(1, n + 1)))
)


@SETTINGS
@given(conversations)
def test_random_valid_conversations_read_back_equal(tmp_path_factory, drawn):
    folder = tmp_path_factory.mktemp("roundtrip")
    result = build(write_raw(folder / "raw.csv", [c["row"] for c in drawn]), folder / "release")
    released = scan(result.release, "conversations").collect()
    assert released.height == len(drawn)
    by_id = {row["conversation_id"]: row for row in released.iter_rows(named=True)}
    for number, item in enumerate(drawn, start=1):
        got = by_id[str(number)]
        assert got["country"] == item["country"]
        assert [{k: t[k] for k in ("turn", "prompt", "responses", "choice", "explanation")}
                for t in got["turns"]] == item["turns"]  # fmt: skip
    comparisons = sum(t["choice"] is not None for c in drawn for t in c["turns"])
    assert result.report["books"]["comparisons"] == comparisons


corruptions = st.one_of(
    st.just(""), st.just("EMPTY STRING"), st.just("response_q"), st.just("xx"),
    st.just("2\x00"), st.just("\ufeffresponse_a"), text,
)  # fmt: skip


@SETTINGS
@given(conversations, st.data())
def test_random_corruption_is_quarantined_or_fails_and_books_balance(tmp_path_factory, drawn, data):
    rows = [dict(c["row"]) for c in drawn]
    for _ in range(data.draw(st.integers(1, 4))):
        row = data.draw(st.sampled_from(rows))
        column = data.draw(st.sampled_from(schema.raw_column_names()))
        row[column] = data.draw(corruptions)
    folder = tmp_path_factory.mktemp("corrupt")
    try:
        result = build(write_raw(folder / "raw.csv", rows), folder / "release")
    except BuildError as error:
        assert "books do not balance" not in str(error)
        assert not (folder / "release").exists()
        return
    books = result.report["books"]
    assert books["raw_rows"] == len(rows)
    assert books["raw_rows"] == (
        books["conversations_released"]
        + books["rows_quarantined"]
        + books["duplicate_rows_dropped"]
    )
    quarantine = pl.read_parquet(result.report_dir / "quarantine.parquet")
    known = set(schema.load("release")["quarantine_reasons"])
    assert set(quarantine["reason"].to_list()) <= known
    assert quarantine["detail"].null_count() == 0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_text_the_nfc_quick_check_passes_is_already_nfc(value):
    from builder.clean import maybe_not_nfc

    suspect = pl.Series([value]).str.contains(maybe_not_nfc()).item()
    assert suspect or unicodedata.normalize("NFC", value) == value
