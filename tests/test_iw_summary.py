"""Tests of community_alignment.iw.summary: the summaries on the hand-built corpus and on generated
data."""

from __future__ import annotations

import csv
import hashlib
import math
import unicodedata

import polars as pl
import pytest

from community_alignment import iw
from tests.iw_corpus import (
    PICKS,
    SCORES,
    UNITS,
    comparisons,
    key,
    label_frame,
    row_of,
)


@pytest.fixture(scope="module")
def summary():
    return iw.summarize(comparisons(), iw.load_labels(label_frame()), n_resamples=0)


def test_coverage_counts_each_candidate_set_once_and_only_fully_labelled_sets(summary):
    us, india = row_of(summary.coverage, "us"), row_of(summary.coverage, "in")
    # us picked on X (twice), Y, Z; Z holds the unlabelled t5
    assert (us["candidate_sets"], us["labelled_sets"]) == (3, 2)
    assert (us["traditional"], us["secular_rational"], us["survival"], us["self_expression"]) == (
        0.5, 1.0, 0.5, 1.0,
    )  # fmt: skip
    assert us["non_default"] == 0.5
    # in picked on X, Y, Z, W: labelled sets X, Y, W
    assert (india["candidate_sets"], india["labelled_sets"]) == (4, 3)
    assert india["traditional"] == pytest.approx(2 / 3)
    assert india["secular_rational"] == pytest.approx(2 / 3)
    assert india["non_default"] == pytest.approx(2 / 3)


def test_choice_shares_are_among_choices_with_a_labelled_chosen_response(summary):
    us, india = row_of(summary.choices, "us"), row_of(summary.choices, "in")
    assert (us["choices"], us["labelled_choices"]) == (4, 3)  # t5 is not labelled
    assert us["secular_rational"] == pytest.approx(1 / 3)
    assert us["self_expression"] == pytest.approx(2 / 3)
    assert us["traditional"] == us["survival"] == 0.0
    assert (india["labelled_choices"], india["traditional"], india["secular_rational"]) == (
        4, 0.75, 0.25,
    )  # fmt: skip


def test_mean_positions_of_chosen_and_shown_responses(summary):
    us = row_of(summary.positions, "us")
    assert us["scored_choices"] == 3
    chosen = [SCORES[t] for t in ("t2", "t3", "t2")]
    assert us["chosen_traditional_secular"] == pytest.approx(sum(c[0] for c in chosen) / 3)
    assert us["chosen_survival_self_expression"] == pytest.approx(sum(c[1] for c in chosen) / 3)
    # every scored candidate, once per choice: X twice, Y, Z (t5 has no scores)
    shown = [SCORES[t] for u in ("X", "X", "Y", "Z") for t in UNITS[u] if t in SCORES]
    mean_shown = sum(s[0] for s in shown) / len(shown)
    assert us["shown_traditional_secular"] == pytest.approx(mean_shown)  # 3.3 / 14
    assert us["preference_traditional_secular"] == pytest.approx(1.6 / 3 - 3.3 / 14)
    india = row_of(summary.positions, "in")
    assert india["chosen_traditional_secular"] == pytest.approx(-0.175)
    assert india["chosen_survival_self_expression"] == pytest.approx(0.1)


def test_gap_to_the_llm_default_poles(summary):
    us, india = row_of(summary.gap, "us"), row_of(summary.gap, "in")
    assert us["non_default_share"] == 0.0 and india["non_default_share"] == 0.75
    assert us["default_quadrant_share"] == pytest.approx(2 / 3)  # t2 twice, t3 not
    assert india["default_quadrant_share"] == 0.0
    corner = iw.LLM_DEFAULT_CORNER
    expected = sum(math.dist(SCORES[t], corner) for t in ("t2", "t3", "t2")) / 3
    assert us["chosen_distance_to_corner"] == pytest.approx(expected)


def test_by_none_gives_one_overall_row():
    overall = iw.summarize(comparisons(), label_frame(), by=None, n_resamples=0)
    assert overall.choices.columns[0] == "choices"
    assert overall.choices.row(0, named=True)["labelled_choices"] == 7
    assert overall.coverage.row(0, named=True)["candidate_sets"] == 4


def test_grouping_by_a_demographic_puts_the_null_group_last():
    frame = comparisons().with_columns(
        pl.Series("annotator_age", ["18-34", None, "18-34", None, "35-54", "35-54", None, None])
    )
    table = iw.summarize(frame, label_frame(), by="annotator_age", n_resamples=0).choices
    assert table["annotator_age"].to_list() == ["18-34", "35-54", None]
    assert table["choices"].to_list() == [2, 2, 4]


def test_bootstrap_with_the_same_seed_gives_the_same_intervals():
    labels = iw.load_labels(label_frame())
    runs = [iw.summarize(comparisons(), labels, n_resamples=200, seed=s) for s in (7, 7, 8)]
    for name in iw.TABLES:
        assert runs[0].tables()[name].equals(runs[1].tables()[name])
    assert not runs[0].positions.equals(runs[2].positions)
    india = row_of(runs[0].choices, "in")
    assert india["traditional_low"] <= india["traditional"] <= india["traditional_high"]


def test_source_without_needed_columns_is_an_error_naming_them():
    with pytest.raises(ValueError, match="lacks column.*responses"):
        iw.summarize(comparisons().drop("responses"), label_frame())
    with pytest.raises(ValueError, match="lacks column.*annotator_political"):
        iw.summarize(comparisons(), label_frame(), by="annotator_political")


def test_empty_selection_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        iw.summarize(comparisons().head(0), label_frame())


def test_labels_that_cover_nothing_of_the_selection_are_an_error():
    other = pl.DataFrame({"response_key": [key(1)], "pole": ["survival"], "labeller": ["j"]})
    with pytest.raises(ValueError, match="cover none of the 5 responses"):
        iw.summarize(comparisons(), other)


def test_summary_reports_labels_not_in_the_selection():
    only_us = comparisons().filter(pl.col("item_id") == "Y")
    result = iw.summarize(only_us, label_frame(), n_resamples=0)
    assert result.label_coverage["labels_not_in_corpus"] == 2  # t1, t4 are not shown in Y


# Generated data: the generator's latent country preferences and its labels.


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from builder.build import build
    from builder.generate import GeneratorConfig, generate

    root = tmp_path_factory.mktemp("iw_generated")
    truth = generate(root / "raw.csv", GeneratorConfig(conversations=3000, seed=0),
                     labels_path=root / "labels.csv")  # fmt: skip
    release = build(root / "raw.csv", root / "release").release
    return truth, release, root / "labels.csv"


def test_generated_data_recovers_the_country_order_on_the_traditional_secular_axis(generated):
    truth, release, labels = generated
    latent = {c: v[0] for c, v in truth["generator"]["iw_country_preference"].items()}
    result = iw.summarize(release, labels, n_resamples=200)
    measured = dict(result.positions.select("country", "preference_traditional_secular").rows())
    assert set(measured) == set(latent)
    # Every two countries at least 0.4 apart on the generator's axis are in its order ...
    for a in latent:
        for b in latent:
            if latent[a] - latent[b] >= 0.4:
                assert measured[a] > measured[b], (a, b, measured)
    # ... and the whole order is right up to at most one swap of neighbours (Spearman >= 0.9).
    order = sorted(latent, key=latent.get)
    rank = {c: i for i, c in enumerate(sorted(measured, key=measured.get))}
    d2 = sum((rank[c] - i) ** 2 for i, c in enumerate(order))
    assert 1 - 6 * d2 / (5 * (25 - 1)) >= 0.9, measured


def nfc_key(text: str) -> str:
    return hashlib.sha256(unicodedata.normalize("NFC", text).encode("utf-8")).hexdigest()[:16]


def test_generated_data_coverage_equals_a_plain_python_count(generated):
    _, release, labels_path = generated
    with open(labels_path, encoding="utf-8", newline="") as handle:
        pole_of = {row["response_key"]: row["pole"] for row in csv.DictReader(handle)}
    rows = pl.read_parquet(release / "data" / "comparisons" / "*" / "*.parquet",
                           columns=["item_id", "country", "responses"]).rows()  # fmt: skip
    units: dict[str, dict[str, list]] = {}
    corpus = set()
    for item, country, responses in rows:
        units.setdefault(country, {})[item] = responses
        corpus.update(nfc_key(t) for t in responses if t is not None)
    result = iw.summarize(release, labels_path, n_resamples=0)
    for country, sets in units.items():
        complete = [s for s in sets.values()
                    if all(t is None or nfc_key(t) in pole_of for t in s)]  # fmt: skip
        measured = row_of(result.coverage, country)
        assert measured["candidate_sets"] == len(sets)
        assert measured["labelled_sets"] == len(complete)
        for pole in iw.POLES:
            having = sum(any(t is not None and pole_of.get(nfc_key(t)) == pole for t in s)
                         for s in complete)  # fmt: skip
            assert measured[iw.POLE_COLUMNS[pole]] == pytest.approx(having / len(complete))
    report = result.label_coverage
    assert report["corpus_responses"] == len(corpus)
    assert report["labelled_responses"] == len(corpus & set(pole_of))
    assert report["labels_not_in_corpus"] == len(set(pole_of) - corpus)


def test_an_annotators_repeated_picks_on_a_unit_count_once():
    # i1 meets unit X again (a later comparison) and picks t4 (survival) this time.
    repeated = comparisons([*PICKS, ("X", "in", 3, "i1")])
    labels = iw.load_labels(label_frame())
    with pytest.warns(UserWarning, match="1 picks repeat an annotator's pick on the same unit"):
        once = iw.summarize(repeated, labels, n_resamples=0)
    plain = iw.summarize(comparisons(), labels, n_resamples=0)
    for name in iw.TABLES:
        assert once.tables()[name].equals(plain.tables()[name]), name
    assert row_of(once.choices, "in")["labelled_choices"] == 4  # not 5
    assert row_of(once.choices, "in")["survival"] == 0.0


def test_the_first_of_repeated_picks_is_the_smallest_comparison_id():
    # The repeat comes first by comparison_id, so it is the pick that counts.
    frame = comparisons([*PICKS, ("X", "in", 3, "i1")]).with_columns(
        pl.Series("comparison_id", [f"c{n}" for n in range(8)] + ["a0"])
    )
    with pytest.warns(UserWarning):
        india = row_of(iw.summarize(frame, label_frame(), n_resamples=0).choices, "in")
    assert india["labelled_choices"] == 4
    assert india["survival"] == pytest.approx(1 / 4) and india["traditional"] == 0.5


def test_without_annotator_ids_every_pick_counts():
    repeated = comparisons([*PICKS, ("X", "in", 3, "i1")]).drop("annotator_id")
    india = row_of(iw.summarize(repeated, label_frame(), n_resamples=0).choices, "in")
    assert india["labelled_choices"] == 5


def test_a_null_annotator_id_is_an_error():
    frame = comparisons().with_columns(pl.lit(None, dtype=pl.String).alias("annotator_id"))
    with pytest.raises(ValueError, match="8 comparisons have a null annotator_id"):
        iw.summarize(frame, label_frame(), n_resamples=0)


def test_an_interval_from_a_single_unit_is_na_with_the_reason():
    # fr picks on W only: one unit behind every statistic of fr.
    frame = comparisons([*PICKS, ("W", "fr", 0, "f1")])
    summary = iw.summarize(frame, label_frame(), n_resamples=50)
    for name, table in summary.tables().items():
        fr, india = row_of(table, "fr"), row_of(table, "in")
        bounds = [c for c in table.columns if c.endswith(("_low", "_high"))]
        assert bounds and all(math.isnan(fr[c]) for c in bounds), name
        assert fr["interval_undefined_reason"] == (
            "only 1 unit to resample; an interval needs at least 2"
        ), name
        assert india["interval_undefined_reason"] is None, name
        assert not any(math.isnan(india[c]) for c in bounds), name
    assert row_of(summary.choices, "fr")["survival"] == 1.0  # W: t4; the estimate stays
    dumped = summary.to_dict()["choices"]
    fr_record = next(r for r in dumped if r["country"] == "fr")
    assert fr_record["survival_low"] is None and fr_record["interval_undefined_reason"]


def test_an_interval_needs_two_units_that_contribute_to_its_statistic():
    # fr picks on X and Z: both choices are labelled (t1), but only X is a fully labelled set.
    frame = comparisons([*PICKS, ("X", "fr", 0, "f1"), ("Z", "fr", 0, "f1")])
    summary = iw.summarize(frame, label_frame(), n_resamples=50)
    coverage, choices = row_of(summary.coverage, "fr"), row_of(summary.choices, "fr")
    assert coverage["labelled_sets"] == 1 and math.isnan(coverage["traditional_low"])
    assert "only 1 unit" in coverage["interval_undefined_reason"]
    assert choices["labelled_choices"] == 2 and choices["interval_undefined_reason"] is None
    assert choices["traditional_low"] == choices["traditional_high"] == 1.0
