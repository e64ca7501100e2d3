"""Answers from a vocabulary: respellings are the same answer and counted; an unknown answer
stops the build (closed vocabulary) or is kept and listed (open)."""

from __future__ import annotations

import polars as pl
import pytest

from builder import answers
from builder.build import build
from builder.errors import BuildError
from builder.validate import validate
from community_alignment.load import scan
from tests.conftest import raw_row, write_raw


def test_folding_ignores_case_spacing_and_curly_quotes():
    keys = pl.select(
        answers.folded(
            pl.Series(["  MALE ", "I don\u2019t\tthink", "Middle-of-the-road,  centrist"])
        )
    ).to_series()
    assert keys.to_list() == ["male", "i don't think", "middle-of-the-road, centrist"]


def test_no_two_answers_of_a_vocabulary_fold_to_the_same_key():
    for vocabulary in answers.vocabularies():
        spellings = vocabulary.spellings
        keys = pl.select(answers.folded(pl.Series(list(spellings), dtype=pl.String))).to_series()
        codes_by_key: dict[str, set] = {}
        for key, code in zip(keys.to_list(), spellings.values(), strict=True):
            codes_by_key.setdefault(key, set()).add(code)
        assert all(len(codes) == 1 for codes in codes_by_key.values()), vocabulary.name


def test_respelled_demographics_and_flags_are_the_same_answers_and_are_counted(tmp_path):
    rows = [
        raw_row("1", "a", annotator_gender="Male", annotator_age=" 18-34 "),
        raw_row("2", "a", annotator_gender="male", is_pregenerated_first_prompt="TRUE "),
        raw_row("3", "b", annotator_political="somewhat  LEFT-leaning", wave=" 2", in_balanced_subset="false"),
        raw_row("4", "c", country=" United  States", annotator_ethnicity="white"),
    ]  # fmt: skip
    result = build(write_raw(tmp_path / "raw.csv", rows), tmp_path / "release")
    assert validate(result.release, load=False).ok
    comparisons = scan(result.release).collect().unique("conversation_id").sort("conversation_id")
    assert comparisons["annotator_gender"].to_list()[:2] == ["male", "male"]
    assert comparisons["annotator_political"][2] == "Somewhat left-leaning"
    assert comparisons["wave"][2] == 2 and comparisons["country"][3] == "us"
    assert comparisons["annotator_ethnicity"][3] == "White"
    assert result.report["answers"]["respelled"] == {
        "annotator_age": 1, "annotator_country": 1, "annotator_ethnicity": 1,
        "annotator_gender": 1, "annotator_political": 1, "is_pregenerated_first_prompt": 1,
        "wave": 1,
    }  # fmt: skip
    assert not result.report["quarantine_reasons"]


def test_an_answer_outside_a_closed_vocabulary_stops_the_build_naming_it(tmp_path):
    out = tmp_path / "release"
    build(write_raw(tmp_path / "good.csv", [raw_row("1")]), out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    rows = [raw_row("1"), raw_row("2", annotator_gender="non-binary"),
            raw_row("3", annotator_gender="Non-Binary", annotator_age="25-34")]  # fmt: skip
    with pytest.raises(BuildError) as error:
        build(write_raw(tmp_path / "bad.csv", rows), out)
    message = str(error.value)
    assert "\n" not in message
    assert "annotator_age '25-34' (1 rows, first at raw record 3)" in message
    assert "annotator_gender 'non-binary' (1 rows, first at raw record 2)" in message
    assert "annotator_gender 'Non-Binary' (1 rows, first at raw record 3)" in message
    assert "schema/vocabularies.yaml" in message
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # left as it was


def test_a_new_answer_of_an_open_vocabulary_is_kept_and_listed(tmp_path):
    rows = [raw_row("1", annotator_ethnicity="  Pacific   Islander ")]
    result = build(write_raw(tmp_path / "raw.csv", rows), tmp_path / "release")
    assert validate(result.release, load=False).ok
    assert scan(result.release).collect()["annotator_ethnicity"].unique().to_list() == [
        "Pacific Islander"
    ]
    assert result.report["answers"]["new_in_open_vocabularies"] == {
        "annotator_ethnicity": {"  Pacific   Islander ": 1}
    }


def test_an_unknown_flag_quarantines_its_row_and_is_listed(tmp_path):
    rows = [raw_row("1"), raw_row("2", in_balanced_subset="yes")]
    result = build(write_raw(tmp_path / "raw.csv", rows), tmp_path / "release")
    assert result.report["quarantine_reasons"] == {"invalid_flag": 1}
    assert result.report["answers"]["unknown_quarantined"] == {"in_balanced_subset": {"yes": 1}}


def test_a_respelled_choice_is_the_same_choice(tmp_path):
    rows = [raw_row("1", turns=2, choices=["Response_B", " response_c "])]
    result = build(write_raw(tmp_path / "raw.csv", rows), tmp_path / "release")
    assert scan(result.release).collect().sort("turn")["choice"].to_list() == [1, 2]


def test_the_report_sets_the_published_counts_beside_the_build(tmp_path):
    rows = [raw_row("1", turns=2), raw_row("2", "b", turns=1, country="india", language="hi")]
    result = build(write_raw(tmp_path / "raw.csv", rows), tmp_path / "release")
    published = result.report["published"]
    assert "97343c7f6399fcbea430ed0f37c1768281a78d56" in published["provenance"]
    assert published["counts"]["raw_rows"] == {"published": 90256, "found": 2, "same": False}
    assert published["counts"]["conversations_by_country.in"]["found"] == 1
    assert published["counts"]["prompts_by_turn.2"]["found"] == 1
    assert published["counts"]["choices_missing_by_turn.2"]["found"] == 1
    assert published["counts"]["explanations"]["found"] == 2
    report_md = (result.report_dir / "report.md").read_text(encoding="utf-8")
    assert "| raw_rows | 90,256 | 2 | differs |" in report_md
