"""Inglehart-Welzel summaries: labels, the labelling cache, summaries, the map and the command."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import unicodedata
from pathlib import Path

import polars as pl
import pytest

from community_alignment import iw
from community_alignment.hashing import response_key

# Hand-built corpus. Scores (traditional_secular, survival_self_expression); t1 has a pole
# given, t2..t4 take theirs from the scores, t5 is never labelled.
SCORES = {
    "t1": (-0.5, 0.2),  # traditional (given)
    "t2": (0.4, 0.6),  # self-expression
    "t3": (0.8, -0.2),  # secular-rational
    "t4": (-0.2, -0.6),  # survival
}
UNITS = {
    "X": ["t1", "t2", "t3", "t4"],  # every pole
    "Y": ["t2", "t3", "t2", None],  # secular-rational and self-expression only
    "Z": ["t1", "t5", "t2", "t3"],  # t5 unlabelled: not a fully labelled set
    "W": ["t4", "t4", "t1", "t1"],  # traditional and survival only
}
PICKS = [  # (unit, country, choice, annotator)
    ("X", "us", 1, "u1"),  # t2
    ("X", "us", 2, "u2"),  # t3
    ("Y", "us", 0, "u1"),  # t2
    ("Z", "us", 1, "u2"),  # t5 (unlabelled)
    ("X", "in", 0, "i1"),  # t1
    ("Y", "in", 1, "i1"),  # t3
    ("Z", "in", 0, "i2"),  # t1
    ("W", "in", 2, "i2"),  # t1
]


def comparisons(picks=PICKS, units=UNITS) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "comparison_id": [f"c{n}" for n in range(len(picks))],
            "annotator_id": [p[3] for p in picks],
            "item_id": [p[0] for p in picks],
            "responses": [units[p[0]] for p in picks],
            "choice": [p[2] for p in picks],
            "country": [p[1] for p in picks],
            "language": ["en"] * len(picks),
        },
        schema_overrides={"choice": pl.Int64, "responses": pl.List(pl.String)},
    )


def label_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "response_key": [response_key(t) for t in SCORES],
            "pole": ["traditional", None, None, None],
            "traditional_secular": [s[0] for s in SCORES.values()],
            "survival_self_expression": [s[1] for s in SCORES.values()],
            "labeller": ["hand"] * len(SCORES),
        }
    )


def key(number: int) -> str:
    return f"{number:016x}"


def row_of(frame: pl.DataFrame, country: str) -> dict:
    return frame.filter(pl.col("country") == country).row(0, named=True)


# --------------------------------------------------------------------------------------------
# Reference positions


def test_country_positions_are_the_shipped_table_with_its_source():
    table = iw.country_positions()
    got = {r["iso2"]: (r["traditional_secular"], r["survival_self_expression"]) for r in
           table.iter_rows(named=True)}  # fmt: skip
    assert got == {
        "us": (0.30, 1.21), "fr": (0.53, 1.95), "it": (0.33, 0.84), "br": (-0.12, -0.18),
        "in": (-0.57, -0.44), "se": (1.21, 3.11), "jp": (1.64, 0.92),
    }  # fmt: skip
    assert table["source"].str.contains("Integrated Values Surveys").all()
    assert "same" not in table["note"].to_list()
    assert table.filter(~pl.col("in_release"))["iso2"].to_list() == ["se", "jp"]


def test_country_table_file_keeps_the_same_markers_as_given():
    path = Path(iw.__file__).parent / "data" / iw.COUNTRIES_FILE
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["iso2"] for r in rows] == ["us", "fr", "it", "br", "in", "se", "jp"]
    assert [r["source"] for r in rows[1:]] == ["same"] * 6


# --------------------------------------------------------------------------------------------
# Loading labels


def test_labels_load_alike_from_csv_parquet_and_frame(tmp_path):
    frame = label_frame()
    frame.write_csv(tmp_path / "labels.csv")
    frame.write_parquet(tmp_path / "labels.parquet")
    loaded = [
        iw.load_labels(x) for x in (frame, tmp_path / "labels.csv", tmp_path / "labels.parquet")
    ]
    assert loaded[0].frame.equals(loaded[1].frame)
    assert loaded[0].frame.equals(loaded[2].frame)


def test_pole_is_derived_from_scores_when_not_given():
    poles = dict(iw.load_labels(label_frame()).frame.select("response_key", "pole").iter_rows())
    assert [poles[response_key(t)] for t in SCORES] == [
        "traditional", "self-expression", "secular-rational", "survival",
    ]  # fmt: skip


def test_unknown_pole_is_an_error_naming_value_and_row():
    frame = label_frame().with_columns(pl.Series("pole", [None, None, "modernist", None]))
    with pytest.raises(ValueError, match=r"row 3: unknown pole 'modernist'"):
        iw.load_labels(frame)


def test_pole_names_forgive_case_spaces_and_underscores():
    frame = pl.DataFrame({"response_key": [key(1), key(2)], "pole": ["Secular_Rational",
                          " self expression "], "labeller": ["j", "j"]})  # fmt: skip
    assert iw.load_labels(frame).frame["pole"].to_list() == ["secular-rational", "self-expression"]


def test_score_outside_minus_one_one_is_an_error_naming_the_row():
    frame = label_frame().with_columns(pl.Series("survival_self_expression", [0.2, 0.6, 1.5, 0.0]))
    with pytest.raises(ValueError, match=r"row 3: survival_self_expression 1.5 is outside"):
        iw.load_labels(frame)


def test_score_that_is_not_a_number_is_an_error(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(
        "response_key,traditional_secular,survival_self_expression,labeller\n"
        f"{key(1)},0.5,0.1,j\n{key(2)},high,0.1,j\n"
    )
    with pytest.raises(ValueError, match=r"row 2: traditional_secular 'high' is not a number"):
        iw.load_labels(path)


@pytest.mark.parametrize("column", ["response_key", "labeller"])
def test_missing_required_column_is_named(column):
    with pytest.raises(ValueError, match=f"lack the required column.*{column}"):
        iw.load_labels(label_frame().drop(column))


def test_labels_need_a_pole_or_both_scores():
    with pytest.raises(ValueError, match="need a pole column, or both score columns"):
        iw.load_labels(label_frame().drop("pole", *iw.AXES))
    with pytest.raises(ValueError, match="one score column but not survival_self_expression"):
        iw.load_labels(label_frame().drop("survival_self_expression"))
    half = label_frame().with_columns(pl.Series("survival_self_expression", [0.1, None, 0.2, 0.3]))
    with pytest.raises(ValueError, match="row 2: give both scores or neither"):
        iw.load_labels(half)
    empty = pl.DataFrame({"response_key": [key(1)], "pole": [None], "labeller": ["j"]},
                         schema_overrides={"pole": pl.String})  # fmt: skip
    with pytest.raises(ValueError, match="row 1: the label has neither a pole nor scores"):
        iw.load_labels(empty)


def test_duplicate_key_with_different_labels_is_an_error_naming_the_key():
    frame = pl.DataFrame({"response_key": [key(1), key(2), key(1)],
                          "pole": ["traditional", "survival", "survival"],
                          "labeller": ["j", "j", "j"]})  # fmt: skip
    with pytest.raises(ValueError, match=f"response_key {key(1)} has 2 different labels"):
        iw.load_labels(frame)


def test_identical_duplicate_rows_collapse():
    frame = pl.concat([label_frame(), label_frame().head(2)])
    assert len(iw.load_labels(frame)) == len(SCORES)


def test_malformed_response_key_is_an_error():
    frame = label_frame().with_columns(
        pl.Series("response_key", ["t1 text", key(2), key(3), key(4)])
    )
    with pytest.raises(ValueError, match="row 1: response_key 't1 text' is not a response key"):
        iw.load_labels(frame)


def test_coverage_of_counts_labels_for_responses_outside_the_corpus():
    extra = pl.DataFrame({"response_key": [key(7), key(8)], "pole": ["survival", "traditional"],
                          "traditional_secular": [None, None], "survival_self_expression": [None, None],
                          "labeller": ["hand", "hand"]})  # fmt: skip
    labels = iw.load_labels(pl.concat([label_frame(), extra], how="vertical_relaxed"))
    report = labels.coverage_of(comparisons())
    assert report["corpus_responses"] == 5  # t1..t5
    assert report["labelled_responses"] == 4
    assert report["unlabelled_responses"] == 1
    assert report["labels"] == 6
    assert report["labels_not_in_corpus"] == 2
    assert report["examples_not_in_corpus"] == [key(7), key(8)]


# --------------------------------------------------------------------------------------------
# Labelling through the cache


class CountingLabeller:
    """Labels from SCORES; t5 and unknown texts get a survival pole. Counts calls and texts."""

    def __init__(self):
        self.calls = 0
        self.texts: list[str] = []

    def __call__(self, texts):
        self.calls += 1
        self.texts += texts
        return [
            {"traditional_secular": SCORES[t][0], "survival_self_expression": SCORES[t][1]}
            if t in SCORES
            else {"pole": "survival"}
            for t in texts
        ]


def test_label_responses_calls_the_labeller_in_batches_then_hits_the_cache(tmp_path):
    labeller = CountingLabeller()
    first = iw.label_responses(
        comparisons(), labeller, cache_dir=tmp_path, batch_size=2, name="fake"
    )
    assert labeller.calls == 3  # 5 distinct texts in batches of 2
    assert sorted(labeller.texts) == ["t1", "t2", "t3", "t4", "t5"]
    assert (tmp_path / "fake.jsonl").is_file()
    again = CountingLabeller()
    second = iw.label_responses(comparisons(), again, cache_dir=tmp_path, batch_size=2, name="fake")
    assert again.calls == 0
    assert first.frame.sort("response_key").equals(second.frame.sort("response_key"))
    assert set(second.frame["labeller"]) == {"fake"}


def test_label_responses_labels_only_responses_not_yet_cached(tmp_path):
    labeller = CountingLabeller()
    iw.label_responses(comparisons(PICKS[:1]), labeller, cache_dir=tmp_path, name="fake")
    assert sorted(labeller.texts) == ["t1", "t2", "t3", "t4"]  # unit X
    more = CountingLabeller()
    labels = iw.label_responses(comparisons(), more, cache_dir=tmp_path, name="fake")
    assert more.texts == ["t5"]
    assert len(labels) == 5


def test_bad_labeller_output_is_an_error_and_earlier_batches_stay_cached(tmp_path):
    def labeller(texts):
        return [{"pole": "nihilist" if t == "t5" else "survival"} for t in texts]

    with pytest.raises(ValueError, match=r"labeller 'bad', batch \d+, response .*unknown pole"):
        iw.label_responses(comparisons(), labeller, cache_dir=tmp_path, batch_size=1, name="bad")
    cached = (tmp_path / "bad.jsonl").read_text().splitlines()
    assert len(cached) >= 1 and all(json.loads(line)["pole"] == "survival" for line in cached)


def test_labeller_returning_too_few_labels_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="3 labels for 4 texts"):
        iw.label_responses(comparisons(PICKS[:1]), lambda texts: [{"pole": "survival"}] * 3,
                           cache_dir=tmp_path, name="short")  # fmt: skip


def test_torn_last_cache_line_is_dropped_and_relabelled(tmp_path):
    iw.label_responses(comparisons(), CountingLabeller(), cache_dir=tmp_path, name="fake")
    path = tmp_path / "fake.jsonl"
    path.write_bytes(path.read_bytes()[:-10])  # an interrupted write
    labeller = CountingLabeller()
    with pytest.warns(UserWarning, match="incomplete last line"):
        labels = iw.label_responses(comparisons(), labeller, cache_dir=tmp_path, name="fake")
    assert labeller.calls == 1 and len(labeller.texts) == 1
    assert len(labels) == 5


def test_labeller_name_must_be_a_safe_file_name(tmp_path):
    with pytest.raises(ValueError, match="labeller name"):
        iw.label_responses(comparisons(), CountingLabeller(), cache_dir=tmp_path, name="../x")


# --------------------------------------------------------------------------------------------
# Summaries on the hand-built corpus


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


# --------------------------------------------------------------------------------------------
# Distance vs disagreement, without labels


def test_distance_vs_disagreement_pairs_countries_and_correlates():
    # One unit per pair of us, fr, in: us-fr agree, us-in half agree, fr-in disagree.
    picks = [("P", "us", 0, "1"), ("P", "fr", 0, "2"),
             ("Q", "us", 0, "1"), ("Q", "in", 0, "3"), ("Q", "in", 1, "4"),
             ("R", "fr", 2, "2"), ("R", "in", 3, "3")]  # fmt: skip
    units = {u: ["a", "b", "c", "d"] for u in "PQR"}
    result = iw.distance_vs_disagreement(comparisons(picks, units), n_resamples=0)
    rows = {(r["country_a"], r["country_b"]): r for r in result.table.iter_rows(named=True)}
    assert set(rows) == {("fr", "in"), ("fr", "us"), ("in", "us")}
    assert rows[("fr", "us")]["disagreement"] == 0.0
    assert rows[("in", "us")]["disagreement"] == 0.5
    assert rows[("fr", "in")]["disagreement"] == 1.0
    assert rows[("fr", "us")]["distance"] == pytest.approx(math.dist((0.53, 1.95), (0.30, 1.21)))
    distances = [rows[p]["distance"] for p in [("fr", "in"), ("fr", "us"), ("in", "us")]]
    # fr-in is the farthest and disagrees most; fr-us the nearest and agrees
    assert sorted(distances) == [distances[1], distances[2], distances[0]]
    assert result.n_pairs == 3 and result.reason is None
    assert result.spearman == pytest.approx(1.0)
    x, y = distances, [1.0, 0.0, 0.5]
    mx, my = sum(x) / 3, sum(y) / 3
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    var = math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))
    assert result.pearson == pytest.approx(cov / var)


def test_distance_vs_disagreement_is_nan_with_a_reason_below_three_pairs():
    result = iw.distance_vs_disagreement(comparisons(), n_resamples=0)  # only us and in
    assert result.n_pairs == 1
    assert math.isnan(result.pearson) and math.isnan(result.spearman)
    assert result.reason == "only 1 country pairs share units; a correlation needs at least 3"


# --------------------------------------------------------------------------------------------
# The map and the command


def test_plot_map_writes_a_png_with_and_without_a_summary(tmp_path, summary):
    plain = iw.plot_map(tmp_path / "plain.png")
    arrows = iw.plot_map(tmp_path / "arrows.png", summary=summary)
    for path in (plain, arrows):
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert 20_000 < len(data) < 2_000_000
    assert plain.read_bytes() != arrows.read_bytes()
    assert iw.plot_map(tmp_path / "again.png", summary=summary).read_bytes() == arrows.read_bytes()
    assert b"matplotlib" not in arrows.read_bytes()  # no software metadata


def test_plot_map_needs_a_summary_by_country(tmp_path):
    overall = iw.summarize(comparisons(), label_frame(), by=None, n_resamples=0)
    with pytest.raises(ValueError, match="grouped by country"):
        iw.plot_map(tmp_path / "x.png", summary=overall)


def release_folder(root: Path, frame: pl.DataFrame) -> Path:
    for (country,), part in frame.partition_by("country", as_dict=True).items():
        folder = root / "data" / "comparisons" / "en"
        folder.mkdir(parents=True, exist_ok=True)
        part.write_parquet(folder / f"{country}-00000-of-00001.parquet")
    return root


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="community-alignment")
    iw.register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def test_cli_without_labels_prints_positions_and_distance_table(tmp_path, capsys):
    folder = release_folder(tmp_path / "release", comparisons())
    assert run_cli(["iw", str(folder), "--resamples", "0"]) == 0
    out = capsys.readouterr().out
    assert "United States" in out and "Sweden" in out
    assert "IW distance vs cross-country disagreement" in out
    assert "only 1 country pairs share units" in out


def test_cli_with_labels_prints_json_and_writes_the_map(tmp_path, capsys):
    folder = release_folder(tmp_path / "release", comparisons())
    label_frame().write_csv(tmp_path / "labels.csv")
    argv = ["iw", str(folder), "--labels", str(tmp_path / "labels.csv"), "--resamples", "50",
            "--json", "--plot", str(tmp_path / "map.png")]  # fmt: skip
    assert run_cli(argv) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["by"] == ["country"]
    assert {r["country"]: r["labelled_choices"] for r in output["choices"]} == {"in": 4, "us": 3}
    assert output["label_coverage"]["unlabelled_responses"] == 1
    assert (tmp_path / "map.png").stat().st_size > 20_000


def test_cli_with_labels_prints_tables(tmp_path, capsys):
    folder = release_folder(tmp_path / "release", comparisons())
    label_frame().write_csv(tmp_path / "labels.csv")
    argv = ["iw", str(folder), "--labels", str(tmp_path / "labels.csv"), "--by", "none",
            "--resamples", "20"]  # fmt: skip
    assert run_cli(argv) == 0
    out = capsys.readouterr().out
    assert "Share of labelled choices that went to each pole" in out
    assert "4 of 5 responses labelled" in out


# --------------------------------------------------------------------------------------------
# Generated data: the generator's latent country preferences and its labels


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
