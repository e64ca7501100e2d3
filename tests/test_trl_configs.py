"""The TRL configs (`unpaired`, `messages`, `prompts`) of the embedded sample's release: TRL's
conversational format rules checked here without TRL, their rows traced to the comparisons,
the same bytes from two builds, and the validator's checks of them failing on broken copies."""

from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl
import pytest

from builder.build import build
from tests.test_validate import assert_caught, check, rewrite_rows

SAMPLE = Path(__file__).parent.parent / "builder" / "sample" / "community_alignment_sample.csv"
TRL_CONFIGS = ("unpaired", "messages", "prompts")
CARD_COUNTS = ("card_split_table", "dataset_info_counts")  # fail with a row taken away


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(SAMPLE, tmp_path_factory.mktemp("trl") / "release").release


@pytest.fixture(scope="module")
def rows(built):
    return {
        t: pl.read_parquet(built / "data" / t / "*" / "*.parquet")
        for t in ("comparisons", "conversations", "pairs", *TRL_CONFIGS)
    }


@pytest.fixture
def release(built, tmp_path):
    return shutil.copytree(built, tmp_path / "release")


# --- TRL's format rules, written out here (TRL is not a test dependency) ---------------------


def is_message(message: dict) -> bool:
    return (
        set(message) == {"role", "content"}
        and message["role"] in ("user", "assistant")
        and isinstance(message["content"], str)
        and message["content"].strip() != ""
    )


def assert_prompt(messages: list[dict]) -> None:
    """A conversational prompt: user first, roles alternating, the last message the user's."""
    assert messages and all(is_message(m) for m in messages), messages
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant"] * (len(roles) // 2) + ["user"], roles


def assert_completion(messages: list[dict]) -> None:
    assert len(messages) == 1 and is_message(messages[0]), messages
    assert messages[0]["role"] == "assistant"


def test_the_sample_release_has_rows_in_every_trl_config(rows):
    for table in TRL_CONFIGS:
        assert rows[table].height > 0, table


def test_unpaired_rows_are_trl_unpaired_preferences(rows):
    for row in rows["unpaired"].iter_rows(named=True):
        assert_prompt(row["prompt"])
        assert_completion(row["completion"])
        assert isinstance(row["label"], bool)


def test_unpaired_has_each_chosen_response_once_and_every_other_candidate(rows):
    complete = rows["comparisons"].filter("context_complete")
    unpaired = rows["unpaired"]
    assert unpaired.filter("label")["comparison_id"].sort().to_list() == sorted(
        complete["comparison_id"].to_list()
    )
    by_id = {r["comparison_id"]: r for r in complete.iter_rows(named=True)}
    for row in unpaired.iter_rows(named=True):
        source = by_id[row["comparison_id"]]
        assert row["completion"][0]["content"] == source["responses"][row["completion_choice"]]
        assert row["label"] == (row["completion_choice"] == source["choice"])
        assert row["prompt"][-1]["content"] == source["prompt"]
    present = sum(sum(r is not None for r in rs) for rs in complete["responses"])
    assert unpaired.height == present
    # the pairs' rejected responses are the unpaired rows labelled false
    assert unpaired.filter(~pl.col("label")).height == rows["pairs"].height


def test_messages_are_the_chosen_path_up_to_the_first_turn_without_a_choice(rows):
    by_id = {r["comparison_id"]: r for r in rows["comparisons"].iter_rows(named=True)}
    expected = {}
    for conversation in rows["conversations"].iter_rows(named=True):
        said = []
        for turn in conversation["turns"]:
            if turn["comparison_id"] is None:
                break
            source = by_id[turn["comparison_id"]]
            said += [
                {"role": "user", "content": source["prompt"]},
                {"role": "assistant", "content": source["responses"][source["choice"]]},
            ]
        if said:
            expected[conversation["conversation_id"]] = said
    found = {r["conversation_id"]: r for r in rows["messages"].iter_rows(named=True)}
    assert found.keys() == expected.keys()
    for conversation_id, row in found.items():
        assert row["messages"] == expected[conversation_id]
        assert row["num_turns"] * 2 == len(row["messages"])
        # TRL's language-modelling format: alternating from user, ending with the assistant
        assert all(is_message(m) for m in row["messages"])
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["user", "assistant"] * (len(roles) // 2)


def test_a_conversation_cut_short_by_a_turn_without_a_choice_keeps_its_first_turns(rows):
    cut = rows["conversations"].filter(
        pl.col("turns").list.eval(pl.element().struct.field("comparison_id").is_null()).list.any()
        & pl.col("turns").list.first().struct.field("comparison_id").is_not_null()
    )
    assert cut.height, "the sample has a conversation with a turn without a choice after a pick"
    messages = rows["messages"].join(
        cut.select("conversation_id", "num_turns"), on="conversation_id"
    )
    assert (messages["num_turns"] < messages["num_turns_right"]).all()


def test_prompts_are_prompt_only_rows_with_picks_that_add_up(rows):
    prompts = rows["prompts"]
    for row in prompts.iter_rows(named=True):
        assert_prompt(row["prompt"])
        assert len(row["responses"]) == 4 and len(row["picks"]) == 4
        assert any(r is not None for r in row["responses"])
        by_country = {p["country"]: p["picks"] for p in row["picks_by_country"]}
        assert list(by_country) == sorted(by_country)
        assert by_country[row["country"]] == row["country_picks"]
        assert [sum(c) for c in zip(*by_country.values(), strict=True)] == row["picks"]


def test_prompts_count_each_annotator_once_per_unit_over_every_country(rows):
    complete = rows["comparisons"].filter("context_complete").sort("comparison_id")
    first = complete.unique(["item_id", "annotator_id"], keep="first", maintain_order=True)
    picks: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in first.iter_rows(named=True):
        picks[(row["language"], row["item_id"], row["country"])][row["choice"]] += 1
    units = {
        (row["language"], row["item_id"], row["country"]) for row in complete.iter_rows(named=True)
    }
    prompts = rows["prompts"]
    assert {
        (r["language"], r["item_id"], r["country"]) for r in prompts.iter_rows(named=True)
    } == units
    assert prompts.height == len(units)
    for row in prompts.iter_rows(named=True):
        key = (row["language"], row["item_id"])
        assert row["country_picks"] == picks[(*key, row["country"])]
        overall = [0, 0, 0, 0]
        for (language, item, _), counts in picks.items():
            if (language, item) == key:
                overall = [a + b for a, b in zip(overall, counts, strict=True)]
        assert row["picks"] == overall
    # the sample shows some units to annotators of several countries
    assert Counter(len(p) for p in prompts["picks_by_country"]).keys() - {1}


def test_a_prompt_is_its_first_comparison_in_the_split(rows):
    complete = rows["comparisons"].filter("context_complete")
    order = complete.with_columns(pl.col("conversation_id").cast(pl.Int64).alias("_n")).sort(
        "_n", "turn"
    )
    first = order.unique(["item_id", "country"], keep="first", maintain_order=True)
    assert sorted(rows["prompts"]["comparison_id"].to_list()) == sorted(
        first["comparison_id"].to_list()
    )


def test_two_builds_write_the_trl_configs_byte_for_byte_the_same(built, tmp_path):
    again = build(SAMPLE, tmp_path / "again").release
    for table in TRL_CONFIGS:
        files = sorted(p.relative_to(built) for p in (built / "data" / table).rglob("*.parquet"))
        assert files == sorted(
            p.relative_to(again) for p in (again / "data" / table).rglob("*.parquet")
        )
        for relative in files:
            assert (built / relative).read_bytes() == (again / relative).read_bytes(), relative
    assert (built / "README.md").read_bytes() == (again / "README.md").read_bytes()


def test_the_card_counts_the_trl_configs(built, rows):
    card = (built / "README.md").read_text(encoding="utf-8")
    for table in TRL_CONFIGS:
        assert f"config_name: {table}" in card
        assert f"| `{table}` |" in card


# --- the validator's checks of them, each failing on a broken copy ---------------------------


def first_file(release: Path, table: str) -> str:
    return str(sorted((release / "data" / table).rglob("*.parquet"))[0].relative_to(release))


def test_the_sample_release_passes_the_trl_checks(built):
    report = check(built)
    for name in ("unpaired_complete", "unpaired_content", "messages_content", "prompts_units",
                 "prompts_content", "trl_format"):  # fmt: skip
        assert report[name].ok, report.render()


def test_an_unpaired_row_labelled_the_wrong_way_is_caught(release):
    path = first_file(release, "unpaired")
    rewrite_rows(release, path, lambda f: f.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(~pl.col("label")).otherwise("label").alias("label")
    ))  # fmt: skip
    assert_caught(check(release), {"unpaired_complete"}, "unpaired_complete", path, "label")


def test_a_missing_unpaired_row_is_caught(release):
    path = first_file(release, "unpaired")
    rewrite_rows(release, path, lambda f: f.slice(1))
    # the card's counts of the split no longer hold either
    assert_caught(
        check(release),
        {"unpaired_complete", *CARD_COUNTS},
        "unpaired_complete",
        "has no unpaired row",
    )


def test_an_unpaired_completion_that_is_another_candidate_is_caught(release):
    path = first_file(release, "unpaired")
    rewrite_rows(release, path, lambda f: f.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.col("completion").shift(-1))
        .otherwise("completion").alias("completion")
    ))  # fmt: skip
    assert_caught(check(release), {"unpaired_content"}, "unpaired_content", "completion")


def test_a_messages_row_missing_its_last_turn_is_caught(release):
    path = first_file(release, "messages")
    rewrite_rows(release, path, lambda f: f.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.col("messages").list.head(2))
        .otherwise("messages").alias("messages")
    ))  # fmt: skip
    # one turn is left, and num_turns no longer says how many
    report = check(release)
    assert_caught(report, {"messages_content"}, "messages_content", path)


def test_a_messages_row_ending_with_the_user_is_caught(release):
    path = first_file(release, "messages")
    rewrite_rows(release, path, lambda f: f.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.col("messages").list.head(1))
        .otherwise("messages").alias("messages")
    ))  # fmt: skip
    assert_caught(
        check(release), {"messages_content", "trl_format"}, "trl_format", "end with an assistant"
    )


def test_a_prompt_with_a_pick_too_many_is_caught(release):
    path = first_file(release, "prompts")
    rewrite_rows(release, path, lambda f: f.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.concat_list(pl.col("picks").list.first() + 1, pl.col("picks").list.slice(1)))
        .otherwise("picks").alias("picks")
    ))  # fmt: skip
    assert_caught(check(release), {"prompts_units"}, "prompts_units", path, "picks")


def test_a_unit_without_its_prompts_row_is_caught(release):
    path = first_file(release, "prompts")
    rewrite_rows(release, path, lambda f: f.slice(1))
    assert_caught(
        check(release), {"prompts_units", *CARD_COUNTS}, "prompts_units", "no `prompts` row"
    )


def test_a_prompt_with_empty_text_is_caught(release):
    path = first_file(release, "prompts")
    rewrite_rows(release, path, lambda f: f.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.concat_list(pl.struct(role=pl.lit("user"), content=pl.lit(" "))))
        .otherwise("prompt").alias("prompt")
    ))  # fmt: skip
    assert_caught(check(release), {"prompts_content", "trl_format"}, "trl_format", "no text")
