"""Reading predictions: the accepted forms, and a clear error (or a count) for each bad input."""

from __future__ import annotations

import textwrap

import polars as pl
import pytest

from community_alignment.evaluate import evaluate, read_predictions

COMPARISONS = pl.DataFrame(
    {
        "item_id": ["x", "x", "y"],
        "annotator_id": ["1", "2", "1"],
        "choice": [0, 1, 3],
        "comparison_id": ["1-1", "2-1", "1-2"],
    }
)


def write(tmp_path, text: str, name: str = "predictions.csv"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_weights_from_a_csv_are_normalised_per_row(tmp_path):
    path = write(
        tmp_path,
        """
        item_id,a,b,c,d,note
        x,1,1,2,0,counts of sampled picks
        y,0.1,0.2,0.3,0.4,
        """,
    )
    table = read_predictions(path)
    assert table.kind == "weights" and table.origin == str(path)
    assert table.frame.select("w_a", "w_b", "w_c", "w_d").rows() == [
        (0.25, 0.25, 0.5, 0.0),
        pytest.approx((0.1, 0.2, 0.3, 0.4)),
    ]


def test_a_choice_column_in_letters_or_codes_from_parquet(tmp_path):
    path = tmp_path / "predictions.parquet"
    pl.DataFrame({"item_id": ["x", "y"], "choice": [2, 0]}).write_parquet(path)
    assert read_predictions(path).frame["w_c"].to_list() == [1.0, 0.0]
    csv = write(tmp_path, "item_id,choice\nx, B \ny,3\n")
    assert read_predictions(csv).frame.select("w_b", "w_d").rows() == [(1.0, 0.0), (0.0, 1.0)]


def test_unknown_units_are_counted_in_the_output():
    predictions = pl.DataFrame({"item_id": ["x", "nope", "gone"], "choice": ["a"] * 3})
    result = evaluate(COMPARISONS, predictions, n_resamples=0)
    assert result.coverage["units_not_in_release"] == 2
    assert result.coverage["examples_not_in_release"] == ["gone", "nope"]
    assert result.coverage["release_units_predicted"] == 1


def test_predictions_with_no_unit_of_the_release_are_an_error():
    with pytest.raises(
        ValueError, match="no predicted unit is in the comparisons table .e.g. nope"
    ):
        evaluate(COMPARISONS, pl.DataFrame({"item_id": ["nope"], "choice": ["a"]}))


def test_a_negative_weight_names_the_row_and_unit(tmp_path):
    path = write(tmp_path, "item_id,a,b,c,d\nx,1,0,0,0\ny,0.5,-0.1,0,0\n")
    with pytest.raises(
        ValueError, match=r"predictions.csv: row 2 \(item_id y\): a weight is negative"
    ):
        read_predictions(path)


def test_all_zero_weights_name_the_row_and_unit(tmp_path):
    path = write(tmp_path, "item_id,a,b,c,d\nx,0,0,0,0\n")
    with pytest.raises(ValueError, match=r"row 1 \(item_id x\): all four weights are 0"):
        read_predictions(path)


def test_a_weight_that_is_not_a_number_or_is_missing(tmp_path):
    with pytest.raises(ValueError, match="row 2: c 'lots' is not a number"):
        read_predictions(write(tmp_path, "item_id,a,b,c,d\nx,1,0,0,0\ny,1,0,lots,0\n"))
    with pytest.raises(ValueError, match="row 1: d is missing"):
        read_predictions(write(tmp_path, "item_id,a,b,c,d\nx,1,0,0,\n"))
    with pytest.raises(ValueError, match="row 1: a is inf, not a number"):
        read_predictions(
            pl.DataFrame({"item_id": ["x"], "a": [float("inf")], "b": [0], "c": [0], "d": [0]})
        )


def test_a_unit_predicted_twice_names_both_rows(tmp_path):
    path = write(tmp_path, "item_id,choice\nx,a\ny,b\nx,a\n")
    with pytest.raises(
        ValueError,
        match=r"item_id x is predicted in rows 1, 3; give one prediction per unit \(1 repeated in all\)",
    ):
        read_predictions(path)


def test_the_same_unit_for_two_targets_is_not_a_duplicate_but_twice_for_one_is():
    two = read_predictions(
        pl.DataFrame(
            {"item_id": ["x", "x", "x"], "choice": ["a", "b", "c"], "target": ["us", "fr", None]}
        )
    )
    assert two.targets == ["fr", "us"]
    with pytest.raises(ValueError, match="item_id x and target us is predicted in rows 1, 2"):
        read_predictions(
            pl.DataFrame({"item_id": ["x", "x"], "choice": ["a", "b"], "target": ["us", "us"]})
        )


@pytest.mark.parametrize("value", ["e", "4", "-1", ""])
def test_a_bad_choice_names_the_row(tmp_path, value):
    path = write(tmp_path, f"item_id,choice\nx,a\ny,{value}\n")
    with pytest.raises(ValueError, match="row 2: choice .* is not one of a/b/c/d or 0..3"):
        read_predictions(path)


def test_a_choice_of_another_type_is_an_error():
    with pytest.raises(ValueError, match="column choice must hold 0..3 or a/b/c/d, got Float64"):
        read_predictions(pl.DataFrame({"item_id": ["x"], "choice": [1.5]}))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("unit,a,b,c,d", "predictions lack the column item_id .it has: unit, a, b, c, d"),
        ("item_id,a,b", "weights need all of a, b, c, d; missing c, d"),
        (
            "item_id,score_a,score_b,score_c",
            "scores need all of score_a, score_b, score_c, score_d",
        ),
        ("item_id,answer", "predictions need weights in columns a, b, c, d, a choice column"),
        (
            "item_id,a,b,c,d,choice",
            "give either a choice column or the weights a, b, c, d, not both",
        ),
    ],
)
def test_missing_or_conflicting_columns(tmp_path, header, message):
    with pytest.raises(ValueError, match=message):
        read_predictions(write(tmp_path, header + "\n"))


def test_a_missing_item_id_names_the_row(tmp_path):
    with pytest.raises(ValueError, match="row 2: the item_id is missing"):
        read_predictions(write(tmp_path, "item_id,choice\nx,a\n,b\n"))


def test_no_rows_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="there are no predictions"):
        read_predictions(write(tmp_path, "item_id,choice\n"))


def test_an_unreadable_missing_or_unknown_file(tmp_path):
    broken = tmp_path / "predictions.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ValueError, match="cannot read the predictions file .*predictions.parquet"):
        read_predictions(broken)
    with pytest.raises(FileNotFoundError, match="no predictions file at .*absent.csv"):
        read_predictions(tmp_path / "absent.csv")
    (tmp_path / "predictions.json").write_text("{}")
    with pytest.raises(ValueError, match="predictions must be a .csv or .parquet file"):
        read_predictions(tmp_path / "predictions.json")
    with pytest.raises(TypeError, match="got list"):
        read_predictions([1, 2])
