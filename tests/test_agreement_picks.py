"""Tests of community_alignment.agreement.picks: reading, checking and filtering the picks, from
every input type."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from community_alignment.agreement import (
    agreement,
    cross_agreement,
    unit_counts,
)
from tests.agreement_frames import (
    LETTERS,
    assert_rows_equal,
    random_comparisons,
    write_release,
)


def test_filters():
    frame = random_comparisons(8)
    for kwargs, predicate in [
        ({"turn": 2}, pl.col("turn") == 2),
        ({"pregenerated_only": True}, pl.col("is_pregenerated_first_prompt")),
        ({"balanced_10_only": True}, pl.col("in_balanced_subset_10")),
        (
            {"turn": 1, "pregenerated_only": True},
            (pl.col("turn") == 1) & pl.col("is_pregenerated_first_prompt"),
        ),
    ]:
        assert_rows_equal(
            agreement(frame, **kwargs).row(0, named=True),
            agreement(frame.filter(predicate)).row(0, named=True),
        )


def test_repeated_picks_by_one_annotator_count_once():
    # Annotator 1 picked twice on x: b (comparison c1, kept) and a (c2, dropped).
    frame = pl.DataFrame(
        {
            "comparison_id": ["c2", "c1", "c3"],
            "item_id": ["x", "x", "x"],
            "annotator_id": ["1", "1", "2"],
            "choice": ["a", "b", "b"],
        }
    )
    with pytest.warns(UserWarning, match="1 picks repeat an annotator"):
        row = agreement(frame).row(0, named=True)
    assert (row["picks"], row["pairs"], row["pairwise_pooled"]) == (2, 1, 1.0)
    with pytest.warns(UserWarning):  # without comparison_id the first row is kept
        row = agreement(frame.drop("comparison_id")).row(0, named=True)
    assert (row["picks"], row["pairwise_pooled"]) == (2, 0.0)
    with pytest.warns(UserWarning):
        crossed = cross_agreement(frame.with_columns(country=pl.lit("us")), "country")
    assert crossed.row(0) == ("us", "us", 1, 1, 1.0)


def test_unit_counts():
    frame = pl.DataFrame({"item_id": ["q", "p", "q", "q"], "choice": ["d", "a", "d", "b"]})
    ids, counts = unit_counts(frame)
    assert ids.to_list() == ["p", "q"]
    assert counts.dtype == np.int64 and counts.tolist() == [[1, 0, 0, 0], [0, 1, 0, 2]]


def test_missing_columns_are_named():
    frame = random_comparisons(0, units=10)
    with pytest.raises(ValueError, match="item_id, annotator_id"):
        agreement(frame.drop("item_id", "annotator_id"))
    with pytest.raises(ValueError, match="lacks column.*: annotator_group"):
        agreement(frame, by="annotator_group")
    with pytest.raises(ValueError, match="in_balanced_subset_10"):
        agreement(frame.drop("in_balanced_subset_10"), balanced_10_only=True)
    with pytest.raises(ValueError, match="choice"):
        cross_agreement(frame.drop("choice"), "country")


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ([0, 1, 4, 4, -1], r"3 of 5 picks are outside a/b/c/d \(0..3\), e.g. 4"),
        (["a", "b", "e", "A", "b"], r"2 of 5 picks are outside a/b/c/d \(0..3\), e.g. 'e'"),
        (["a", "response_b", "c", "d", "a"], r"1 of 5 .* e.g. 'response_b'"),
    ],
)
def test_choices_outside_vocabulary(choices, message):
    frame = pl.DataFrame({"item_id": ["x"] * 5, "annotator_id": list("12345"), "choice": choices})
    with pytest.raises(ValueError, match=message):
        agreement(frame)


def test_null_choice_is_an_error():
    frame = pl.DataFrame(
        {"item_id": ["x", "x", "y"], "annotator_id": ["1", "2", "3"], "choice": [0, None, 1]}
    )
    with pytest.raises(ValueError, match="1 of 3 comparisons have a null choice"):
        agreement(frame)


def test_other_bad_values():
    base = {"item_id": ["x", "x"], "annotator_id": ["1", "2"]}
    with pytest.raises(ValueError, match="got a Float64 column"):
        agreement(pl.DataFrame({**base, "choice": [0.0, 1.0]}))
    with pytest.raises(ValueError, match="null item_id"):
        agreement(pl.DataFrame({**base, "item_id": ["x", None], "choice": [0, 1]}))
    with pytest.raises(ValueError, match="group by item_id"):
        agreement(pl.DataFrame({**base, "choice": [0, 1]}), by=["item_id"])
    with pytest.raises(ValueError, match="group by choice"):
        agreement(pl.DataFrame({**base, "choice": [0, 1]}), by="choice")
    with pytest.raises(ValueError, match="needs a by column"):
        cross_agreement(pl.DataFrame({**base, "choice": [0, 1]}), [])
    with pytest.raises(ValueError, match="must be a boolean column"):
        agreement(
            pl.DataFrame({**base, "choice": [0, 1], "is_pregenerated_first_prompt": ["T", "F"]}),
            pregenerated_only=True,
        )
    with pytest.raises(TypeError, match="source must be"):
        agreement(42)


def test_empty_selection_names_the_filters():
    frame = random_comparisons(0, units=50)
    with pytest.raises(ValueError, match=r"after filtering by turn=7 \(\d+ rows before"):
        agreement(frame, turn=7)
    with pytest.raises(ValueError, match="pregenerated_only=True, turn=9"):
        cross_agreement(frame, "country", pregenerated_only=True, turn=9)
    with pytest.raises(ValueError, match="has no rows"):
        agreement(frame.head(0))


def test_dataframe_lazyframe_dataset_and_path_agree(tmp_path):
    import datasets

    frame = random_comparisons(14)
    expected = agreement(frame, by="country", n_resamples=50)
    assert agreement(frame.lazy(), by="country", n_resamples=50).equals(expected)

    features = datasets.Features(
        {
            "comparison_id": datasets.Value("string"),
            "item_id": datasets.Value("string"),
            "annotator_id": datasets.Value("string"),
            "choice": datasets.ClassLabel(names=LETTERS),
            "country": datasets.Value("string"),
            "language": datasets.Value("string"),
            "turn": datasets.Value("int64"),
            "is_pregenerated_first_prompt": datasets.Value("bool"),
            "in_balanced_subset_10": datasets.Value("bool"),
        }
    )
    dataset = datasets.Dataset.from_dict(frame.to_dict(as_series=False), features=features)
    assert agreement(dataset, by="country", n_resamples=50).equals(expected)
    # A view with an indices mapping (shuffled) gives the same numbers too.
    assert agreement(dataset.shuffle(seed=0), by="country", n_resamples=50).equals(expected)

    write_release(tmp_path, frame)
    assert agreement(tmp_path, by="country", n_resamples=50).equals(expected)
    assert agreement(str(tmp_path), by="country", n_resamples=50).equals(expected)
    assert cross_agreement(str(tmp_path), "country").equals(cross_agreement(frame, "country"))


def test_letters_and_codes_agree():
    frame = random_comparisons(15)
    letters = frame.with_columns(
        pl.col("choice").replace_strict([0, 1, 2, 3], LETTERS, return_dtype=pl.String)
    )
    assert agreement(letters).equals(agreement(frame))
    as_enum = letters.with_columns(pl.col("choice").cast(pl.Enum(LETTERS)))
    assert agreement(as_enum).equals(agreement(frame))
