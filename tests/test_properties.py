"""Property-based: random valid conversations survive the build; random corruption is either
quarantined with a reason or stops the build, and the books always balance."""

from __future__ import annotations

import re
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


# Build errors that bad cell content may cause (patterns of their messages); every other bad
# cell is quarantined. A kind of content that should stop the build gets its pattern here.
CONTENT_ERRORS: tuple[str, ...] = (
    # a demographic answer outside its closed vocabulary stops the build before anything is
    # written (the release would not validate); nothing else in a cell may
    r"answer\(s\) outside the closed vocabularies of schema/vocabularies.yaml",
)

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
        # bad cell content is quarantined; only the errors named here may stop the build
        assert any(re.search(p, str(error)) for p in CONTENT_ERRORS), error
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


# Characters where NFC does something: combining marks of several classes, starters they
# compose with (plain and already composed), Devanagari with its nukta and virama, Hangul
# jamo and syllables, a Tamil two-part vowel, and characters NFC replaces on their own.
NFC_PLAYGROUND = list(
    "aeoAEOnNrRhHiu \u00e9\u00ea\u00e8\u1ebf\u00f6\u1ee5\u01d6"
    "\u0300\u0301\u0302\u0303\u0308\u0316\u0323\u0327\u0328\u031b\u0345\u05b0\u0f71"
    "\u0915\u091c\u0928\u0930\u0933\u093c\u094d\u093e\u0947\u0902\u0929\u0958"
    "\u1100\u1161\u11a8\uac00\uac01\u0bc6\u0bbe\u0bd7\u0bca\u212b\u0344\u0340"
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_text_the_nfc_quick_check_passes_is_already_nfc(value):
    from builder.hygiene import maybe_not_nfc

    suspect = pl.Series([value]).str.contains(maybe_not_nfc()).item()
    assert suspect or unicodedata.normalize("NFC", value) == value


@settings(max_examples=3000, deadline=None)
@given(st.text(st.sampled_from(NFC_PLAYGROUND), max_size=6))
def test_the_nfc_check_misses_no_text_that_nfc_changes(value):
    from builder.hygiene import maybe_not_nfc

    flagged = pl.Series([value]).str.contains(maybe_not_nfc()).item()
    assert flagged or unicodedata.normalize("NFC", value) == value, ascii(value)


def test_the_exact_nfc_check_leaves_hindi_with_nukta_and_virama_alone():
    from builder.hygiene import maybe_not_nfc

    hindi = "\u091c\u093c\u094d\u092f\u093e\u0926\u093e \u092b\u093c\u093f\u0932\u094d\u092e"
    assert unicodedata.normalize("NFC", hindi) == hindi
    assert not pl.Series([hindi]).str.contains(maybe_not_nfc()).item()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(st.sampled_from(NFC_PLAYGROUND + list("\r\x07\ufeff\t\n")), max_size=5)),
    st.integers(0, 3),
    st.integers(0, 3),
)
def test_byte_profiles_match_the_text(values, cut, skip):
    import pyarrow as pa

    from builder.hygiene import ByteProfile

    # chunks as the CSV reader makes them, and a sliced one, whose buffers hold extra bytes
    array = pa.array(["\u0915x", *values, "\u0915"], type=pa.string()).slice(1, len(values))
    column = pa.chunked_array([array.slice(0, cut), array.slice(cut)])[skip:]
    kept = values[skip:]
    profile = ByteProfile.of(column)
    assert profile.wide_cells.tolist() == [any(ord(c) >= 0x300 for c in v) for v in kept]
    text = "".join(kept)
    assert profile.carriage_return >= ("\r" in text)
    assert profile.control_character >= ("\x07" in text)
    assert profile.byte_order_mark >= ("\ufeff" in text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.sampled_from(NFC_PLAYGROUND), max_size=5), min_size=1, max_size=6))
def test_nfc_normalises_exactly_the_cells_that_need_it(values):
    import pyarrow as pa

    from builder.hygiene import ByteProfile, normalise_nfc

    frame = pl.DataFrame({"a": values, "b": list(reversed(values))})
    candidates = {c: ByteProfile.of(pa.chunked_array([frame[c].to_arrow()])).wide_cells
                  for c in frame.columns}  # fmt: skip
    cleaned, changed = normalise_nfc(frame, candidates)
    for column in frame.columns:
        assert cleaned[column].to_list() == [unicodedata.normalize("NFC", v) for v in frame[column]]
    assert changed == sum(unicodedata.normalize("NFC", v) != v for v in values) * 2
