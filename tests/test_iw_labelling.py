"""Tests of community_alignment.iw.labelling: labelling a corpus through the cache."""

from __future__ import annotations

import json

import pytest

from community_alignment import iw
from tests.iw_corpus import (
    PICKS,
    SCORES,
    comparisons,
)


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
