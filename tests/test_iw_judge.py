"""The IW judge against a local chat server that answers from a table, and label comparison."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from community_alignment import iw
from community_alignment.cli import main
from community_alignment.hashing import response_key
from community_alignment.iw_compare import compare_labels
from community_alignment.iw_judge import (
    IWJudge,
    corpus_items,
    label_corpus,
    load_rubric,
    parse_answer,
    unlabelled_path,
)
from community_alignment.models import ChatModel
from tests.chat_server import ChatServer, Scripted

# The judge's answer per response (found in the request by the response's text).
ANSWERS = {
    "Pray together every evening.": (-0.8, -0.2),  # traditional
    "Vote, sign the petition, speak up.": (0.2, 0.7),  # self-expression
    "Science settles it, not scripture.": (0.9, 0.1),  # secular-rational
    "Stock food and trust no one.": (-0.1, -0.9),  # survival
}
UNITS = {
    "X": list(ANSWERS),
    "Y": ["Pray together every evening.", "Stock food and trust no one.", None, None],
}
PICKS = [("X", "us", 0, "u1"), ("X", "us", 1, "u2"), ("Y", "fr", 1, "f1"), ("X", "fr", 2, "f1")]
PROMPTS = {"X": "How should I raise my children?", "Y": "Comment vivre en temps de crise ?"}


def comparisons() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "comparison_id": [f"c{n}" for n in range(len(PICKS))],
            "annotator_id": [p[3] for p in PICKS],
            "item_id": [p[0] for p in PICKS],
            "prompt": [PROMPTS[p[0]] for p in PICKS],
            "language": ["en" if p[1] == "us" else "fr" for p in PICKS],
            "responses": [UNITS[p[0]] for p in PICKS],
            "choice": [p[2] for p in PICKS],
            "country": [p[1] for p in PICKS],
        },
        schema_overrides={"choice": pl.Int64, "responses": pl.List(pl.String)},
    )


def answer_of(text: str) -> str:
    ts, sse = ANSWERS[text]
    return json.dumps({"traditional_secular": ts, "survival_self_expression": sse, "reason": "r"})


def table(**overrides) -> dict:
    entries = {text: answer_of(text) for text in ANSWERS}
    return entries | {text: entry for text, entry in overrides.items()}


def chat(server: ChatServer, tmp_path: Path, **options) -> ChatModel:
    settings = {"timeout": 2.0, "retries": 2, "backoff": 0.01, "max_backoff": 0.05}
    return ChatModel(
        "org/judge-7b",
        base_url=server.url,
        cache_dir=tmp_path / "cache",
        progress=False,
        **(settings | options),
    )


def response_in(body: dict) -> str:
    text = body["messages"][1]["content"]
    return re.search(r"map:\n<<<\n(.*)\n>>>", text, re.S).group(1)


def release_folder(root: Path, frame: pl.DataFrame) -> Path:
    for (country,), part in frame.partition_by("country", as_dict=True).items():
        folder = root / "data" / "comparisons" / "en"
        folder.mkdir(parents=True, exist_ok=True)
        part.write_parquet(folder / f"{country}-00000-of-00001.parquet")
    return root


PRAY, VOTE, SCIENCE, STOCK = ANSWERS


# --------------------------------------------------------------------------------------------
# Asking


def test_every_distinct_response_is_asked_once_and_a_second_run_asks_nothing(tmp_path):
    with ChatServer(table()) as server:
        judged = label_corpus(comparisons(), chat(server, tmp_path), progress=False)
        asked = sorted(response_in(body) for body in server.requests)
        assert asked == sorted(ANSWERS)
        again = label_corpus(comparisons(), chat(server, tmp_path), progress=False)
        assert len(server.requests) == len(ANSWERS)
    assert again.labels.equals(judged.labels)
    scores = {r["response_key"]: (r["traditional_secular"], r["survival_self_expression"])
              for r in judged.labels.iter_rows(named=True)}  # fmt: skip
    assert scores == {response_key(t): s for t, s in ANSWERS.items()}
    assert judged.unlabelled.height == 0


def test_the_request_carries_the_rubric_the_prompt_the_response_and_the_schema(tmp_path):
    rubric = load_rubric()
    with ChatServer(table()) as server:
        label_corpus(comparisons(), chat(server, tmp_path), progress=False)
    body = next(b for b in server.requests if response_in(b) == STOCK)
    system, user = body["messages"]
    assert system == {"role": "system", "content": rubric.system}
    assert "God is very important" in system["content"] and "petition" in system["content"]
    assert PROMPTS["Y"] in user["content"] and "Language of the conversation: fr" in user["content"]
    assert body["model"] == "org/judge-7b" and body["temperature"] == 0
    assert "traditional_secular" in json.dumps(body["response_format"])


def test_the_labeller_column_names_the_rubric_version_and_the_model(tmp_path):
    with ChatServer(table()) as server:
        judged = label_corpus(comparisons(), chat(server, tmp_path), progress=False)
    assert set(judged.labels["labeller"]) == {"iw-rubric-v1:org/judge-7b"}


def test_429_500_and_timeouts_are_asked_again(tmp_path):
    overrides = {
        PRAY: [Scripted(status=429), answer_of(PRAY)],
        VOTE: [Scripted(status=500), answer_of(VOTE)],
        SCIENCE: [Scripted(content=answer_of(SCIENCE), delay=2.5), answer_of(SCIENCE)],
    }
    with ChatServer(table(**overrides)) as server:
        judged = label_corpus(comparisons(), chat(server, tmp_path, timeout=1.0), progress=False)
    assert judged.labels.height == 4 and judged.unlabelled.height == 0
    assert [server.asked(t) for t in (PRAY, VOTE, SCIENCE, STOCK)] == [2, 2, 2, 1]


def test_an_unreadable_answer_is_asked_once_more_with_the_problem(tmp_path):
    overrides = {PRAY: ["I would rather not say.", answer_of(PRAY)]}
    with ChatServer(table(**overrides)) as server:
        judged = label_corpus(comparisons(), chat(server, tmp_path), progress=False)
    assert judged.labels.height == 4 and judged.retried == 1
    retry = [b for b in server.requests if len(b["messages"]) == 4]
    assert len(retry) == 1
    assert retry[0]["messages"][2] == {"role": "assistant", "content": "I would rather not say."}
    assert "no JSON object in the answer" in retry[0]["messages"][3]["content"]


def test_an_answer_unreadable_twice_is_recorded_unlabelled_with_the_reason(tmp_path):
    overrides = {STOCK: '{"traditional_secular": 3, "survival_self_expression": 0}'}
    with ChatServer(table(**overrides)) as server:
        judged = label_corpus(comparisons(), chat(server, tmp_path), progress=False)
        assert server.asked(STOCK) == 1 + 1  # the first request, then once more; never a third
        label_corpus(comparisons(), chat(server, tmp_path), progress=False)
        assert server.asked(STOCK) == 2  # the rerun reads both answers from the cache
    assert response_key(STOCK) not in judged.labels["response_key"].to_list()
    row = judged.unlabelled.row(0, named=True)
    assert row["response_key"] == response_key(STOCK)
    assert row["problem"] == "the answer could not be read, twice: traditional_secular 3 is " \
        "outside [-1, 1]"  # fmt: skip
    assert row["answer"].startswith('{"traditional_secular": 3')


def test_a_request_that_keeps_failing_is_unlabelled_and_asked_again_on_a_rerun(tmp_path):
    with ChatServer(table(**{VOTE: Scripted(status=503)})) as server:
        judged = label_corpus(comparisons(), chat(server, tmp_path, retries=1), progress=False)
        assert server.asked(VOTE) == 2
        assert judged.unlabelled["problem"][0].startswith("no answer: no answer after 2 tries")
        label_corpus(comparisons(), chat(server, tmp_path, retries=1), progress=False)
        assert server.asked(VOTE) == 4 and server.asked(PRAY) == 1


def test_a_server_without_structured_output_still_gives_labels(tmp_path):
    fenced = {t: f"Here you go:\n```json\n{answer_of(t)}\n```" for t in ANSWERS}
    with ChatServer(fenced, reject_response_format=True) as server:
        judged = label_corpus(comparisons(), chat(server, tmp_path, concurrency=1), progress=False)
    assert judged.labels.height == 4
    # one at a time: the first request finds out, the others are sent without structured output
    assert ["response_format" in b for b in server.requests] == [True] + [False] * 4


def test_labels_load_with_load_labels_and_feed_summarize(tmp_path):
    with ChatServer(table()) as server:
        judged = label_corpus(comparisons(), chat(server, tmp_path), progress=False)
    labels = iw.load_labels(judged.labels)
    poles = dict(zip(labels.frame["response_key"], labels.frame["pole"], strict=True))
    assert poles[response_key(PRAY)] == "traditional" and poles[response_key(STOCK)] == "survival"
    summary = iw.summarize(comparisons(), labels, by="country", n_resamples=0)
    shares = {r["country"]: r["traditional"] for r in summary.choices.iter_rows(named=True)}
    assert shares == {"us": 0.5, "fr": 0.0}  # us chose PRAY and VOTE; fr chose STOCK, SCIENCE


def test_limit_keeps_the_first_responses_by_key(tmp_path):
    items = corpus_items(comparisons(), limit=2)
    assert [i.response_key for i in items] == sorted(response_key(t) for t in ANSWERS)[:2]
    with pytest.raises(ValueError, match="limit"):
        corpus_items(comparisons(), limit=0)


def test_a_response_is_judged_with_its_first_prompt_and_its_language():
    items = {i.response: i for i in corpus_items(comparisons())}
    assert (items[STOCK].prompt, items[STOCK].language) == (PROMPTS["Y"], "fr")
    # PRAY is shown under X (en) and Y (fr); Y's prompt comes first in text order.
    assert (items[PRAY].prompt, items[PRAY].language) == (PROMPTS["Y"], "fr")


def test_the_judge_is_a_labeller_for_label_responses(tmp_path):
    with ChatServer(table()) as server:
        judge = IWJudge(chat(server, tmp_path))
        labels = iw.label_responses(comparisons(), judge, cache_dir=tmp_path / "labels",
                                    name="judge")  # fmt: skip
    assert len(labels) == 4
    assert "(not shown)" in server.requests[0]["messages"][1]["content"]


def test_parse_answer_reads_json_defensively():
    assert parse_answer('{"survival_self_expression": 0.5, "traditional_secular": -1}')[0] == {
        "traditional_secular": -1.0, "survival_self_expression": 0.5, "reason": None}  # fmt: skip
    assert parse_answer('{"a": 1} then {"traditional_secular": 0, "survival_self_expression": 0}')[
        0
    ] == {"traditional_secular": 0.0, "survival_self_expression": 0.0, "reason": None}
    assert parse_answer('{"traditional_secular": 0.1}')[1] == (
        "the JSON object lacks survival_self_expression"
    )
    assert parse_answer('{"traditional_secular": true, "survival_self_expression": 0}')[1] == (
        "traditional_secular True is not a number"
    )
    assert parse_answer("")[1] == "the answer is empty"


def test_a_rubric_without_the_response_placeholder_is_refused(tmp_path):
    text = (Path(__file__).parents[1] / "community_alignment/data/iw_rubric.yaml").read_text()
    broken = tmp_path / "rubric.yaml"
    broken.write_text(text.replace("{response}", "{text}"))
    with pytest.raises(ValueError, match=r"lacks the placeholder \{response\}"):
        load_rubric(broken)


# --------------------------------------------------------------------------------------------
# Command line


def test_cli_dry_run_counts_and_sends_nothing(tmp_path, capsys):
    folder = release_folder(tmp_path / "release", comparisons())
    with ChatServer(table()) as server:
        code = main(["iw", "label", str(folder), "--model", "org/judge-7b", "--base-url",
                     server.url, "--dry-run", "--cache-dir", str(tmp_path / "c")])  # fmt: skip
    assert code == 0 and server.requests == []
    out = capsys.readouterr().out
    assert "4 distinct responses" in out and "4 to send" in out and "nothing was sent" in out


def test_cli_label_writes_labels_that_iw_reads_as_they_are(tmp_path, capsys):
    folder = release_folder(tmp_path / "release", comparisons())
    out = tmp_path / "labels.parquet"
    overrides = {STOCK: "no idea"}
    with ChatServer(table(**overrides)) as server:
        code = main(["iw", "label", str(folder), "--model", "org/judge-7b", "--base-url",
                     server.url, "--out", str(out), "--cache-dir", str(tmp_path / "c")])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "labelled 3 of 4 responses with iw-rubric-v1:org/judge-7b" in printed
    assert pl.read_parquet(unlabelled_path(out))["response_key"].to_list() == [response_key(STOCK)]
    assert main(["iw", str(folder), "--labels", str(out), "--resamples", "0", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["label_coverage"]["labelled_responses"] == 3


def test_cli_label_stops_with_one_line_when_offline(tmp_path, capsys, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    folder = release_folder(tmp_path / "release", comparisons())
    with ChatServer(table()) as server:
        code = main(["iw", "label", str(folder), "--model", "m", "--base-url", server.url,
                     "--out", str(tmp_path / "l.parquet"), "--cache-dir", str(tmp_path / "c")])  # fmt: skip
    error = capsys.readouterr().err.strip()
    assert code == 2 and server.requests == []
    assert "HF_HUB_OFFLINE=0" in error and "\n" not in error


def test_cli_label_needs_out_unless_dry_run(tmp_path, capsys):
    folder = release_folder(tmp_path / "release", comparisons())
    assert main(["iw", "label", str(folder), "--model", "m"]) == 2
    assert "--out" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Comparing labellings


def labelling(scores: dict[str, tuple[float, float]], name: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "response_key": [f"{n:016x}" for n in range(len(scores))],
            "traditional_secular": [s[0] for s in scores.values()],
            "survival_self_expression": [s[1] for s in scores.values()],
            "labeller": [name] * len(scores),
        }
    )


def test_compare_labels_gives_correlations_pole_agreement_and_confusion():
    truth = labelling({"a": (-0.8, 0.1), "b": (0.6, 0.2), "c": (0.1, -0.7), "d": (0.2, 0.9)}, "t")
    judge = labelling({"a": (-0.6, 0.0), "b": (0.1, 0.5), "c": (0.0, -0.4), "d": (0.1, 0.8)}, "j")
    result = compare_labels(judge, truth)
    assert (result.common, result.with_pole) == (4, 4)
    # b: judge says self-expression, truth secular-rational; the rest agree.
    assert result.pole_agreement == 0.75
    # Cohen's kappa: observed 3/4; expected from the margins (judge: trad 1, surv 1, self 2;
    # truth: trad 1, sec 1, surv 1, self 1) = (1*1 + 1*1 + 2*1) / 16 = 1/4.
    assert result.kappa == pytest.approx((0.75 - 0.25) / (1 - 0.25))
    confusion = {row["pole_a"]: row for row in result.confusion.iter_rows(named=True)}
    assert confusion["self-expression"]["secular-rational"] == 1
    assert confusion["self-expression"]["self-expression"] == 1
    axes = {row["axis"]: row for row in result.axes.iter_rows(named=True)}
    x, y = [-0.6, 0.1, 0.0, 0.1], [-0.8, 0.6, 0.1, 0.2]
    expected = pl.DataFrame({"x": x, "y": y}).select(pl.corr("x", "y")).item()
    assert axes["traditional_secular"]["pearson"] == pytest.approx(expected)
    assert axes["traditional_secular"]["spearman"] == pytest.approx(
        pl.DataFrame({"x": x, "y": y}).select(pl.corr("x", "y", method="spearman")).item()
    )


def test_compare_labels_without_shared_responses_is_an_error():
    a = labelling({"a": (0.5, 0.1)}, "a")
    b = a.with_columns(pl.lit("00000000000000ff").alias("response_key"))
    with pytest.raises(ValueError, match="share no response_key"):
        compare_labels(a, b)


def test_cli_compare_labels_prints_the_tables(tmp_path, capsys):
    truth = labelling({"a": (-0.8, 0.1), "b": (0.6, 0.2), "c": (0.1, -0.7)}, "truth")
    truth.write_csv(tmp_path / "a.csv")
    truth.with_columns(pl.lit("copy").alias("labeller")).write_parquet(tmp_path / "b.parquet")
    assert main(["iw", "compare-labels", str(tmp_path / "a.csv"), str(tmp_path / "b.parquet")]) == 0
    out = capsys.readouterr().out
    assert "responses labelled by both: 3" in out and "same pole: 1.000 of 3" in out
    assert main(["iw", "compare-labels", str(tmp_path / "a.csv"), str(tmp_path / "a.csv"),
                 "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["pole_agreement"] == 1.0


# --------------------------------------------------------------------------------------------
# The sample: a judge that reads the generator's truth is right on every response


@pytest.fixture(scope="module")
def sample_release(tmp_path_factory):
    from builder.build import build

    sample = Path(__file__).parents[1] / "builder" / "sample"
    root = tmp_path_factory.mktemp("judge_sample")
    return build(sample / "community_alignment_sample.csv", root / "release").release, sample


def test_on_the_sample_a_judge_reading_the_truth_has_accuracy_one(sample_release, tmp_path):
    # 400 of the sample's distinct responses (a stable pseudo-random sample: the first keys)
    release, sample = sample_release
    truth = pl.read_csv(sample / "iw_labels.csv")
    scores = {row[0]: row[2:4] for row in truth.iter_rows()}

    def answer(body):
        ts, sse = scores[response_key(response_in(body))]
        return json.dumps({"traditional_secular": ts, "survival_self_expression": sse})

    with ChatServer(answer=answer) as server:
        judged = label_corpus(release, chat(server, tmp_path), limit=400, progress=False)
    assert len(server.requests) == judged.labels.height == 400
    assert len(corpus_items(release)) == 3133
    result = compare_labels(judged.labels, sample / "iw_labels.csv")
    assert result.common == 400 and result.only_b == truth.height - 400
    assert result.pole_agreement == 1.0
    assert all(row["pearson"] == pytest.approx(1.0) for row in result.axes.iter_rows(named=True))
