"""A chat model as the predictor of evaluate, against a local OpenAI-compatible server that the
test starts on 127.0.0.1."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import polars as pl
import pytest

from builder.build import build
from community_alignment.cli import main
from community_alignment.evaluate import evaluate
from community_alignment.evaluate.chat import predict, units
from community_alignment.models import ChatModel
from tests.chat_server import ChatServer, Scripted

SAMPLE = (
    Path(__file__).resolve().parent.parent / "builder" / "sample" / "community_alignment_sample.csv"
)
OWN_VIEW = {"A": 0.5, " B": 0.3, "C": 0.15, "D": 0.05}  # the model's letter probabilities


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return build(SAMPLE, tmp_path_factory.mktemp("sample") / "release").release


def completion_with_logprobs(body: dict, content: str, top: dict[str, float]) -> bytes:
    """A chat completion whose first token carries ``top`` as its alternatives."""
    alternatives = [{"token": t, "logprob": math.log(p)} for t, p in top.items()]
    choice = {
        "index": 0,
        "finish_reason": "stop",
        "message": {"role": "assistant", "content": content},
    }
    if body.get("logprobs"):
        first = {
            "token": content,
            "logprob": math.log(top.get(content, 0.5)),
            "top_logprobs": alternatives,
        }
        choice["logprobs"] = {"content": [first]}
    return json.dumps(
        {
            "id": "t",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [choice],
        }
    ).encode()


def server_answer(unreadable: str):
    """As a person from France: C. Its own view: A, with OWN_VIEW's probabilities. The unit
    whose prompt contains ``unreadable``: no letter."""

    def answer(body: dict) -> Scripted:
        text = body["messages"][-1]["content"]
        if unreadable in text:
            return Scripted(content="I cannot choose between these.")
        if "a person from France" in text:
            return Scripted(content="C")
        return Scripted(body=completion_with_logprobs(body, "A", OWN_VIEW))

    return answer


def chat(server: ChatServer, tmp_path: Path) -> ChatModel:
    return ChatModel(
        "test/chooser",
        base_url=server.url,
        cache_dir=tmp_path / "cache",
        progress=False,
        retries=1,
        backoff=0.01,
    )


def test_predictions_from_letters_and_token_probabilities(release, tmp_path):
    table = units(release, limit=12)
    unreadable = table["prompt"][3]
    with ChatServer(answer=server_answer(unreadable)) as server:
        answered = predict(
            release, chat(server, tmp_path), targets=[None, "fr"], by="country", limit=12
        )
    questions = [body["messages"][-1]["content"] for body in server.requests]
    assert len(server.requests) == 24 and all("Reply D:" in q for q in questions)
    assert sum("Which reply would a person from France prefer?" in q for q in questions) == 12
    own = answered.predictions.filter(pl.col("target").is_null())
    assert own.height == 11 and set(own["read_from"]) == {"logprobs"}
    assert own.select("a", "b", "c", "d").row(0) == pytest.approx((0.5, 0.3, 0.15, 0.05))
    french = answered.predictions.filter(pl.col("target") == "fr")
    assert french.height == 11 and set(french["read_from"]) == {"letter"}
    assert french.select("a", "b", "c", "d").unique().rows() == [(0.0, 0.0, 1.0, 0.0)]
    assert answered.unanswered.height == 2
    assert answered.unanswered["item_id"].to_list() == [table["item_id"][3]] * 2
    assert answered.unanswered["problem"][0].startswith("no letter A-D in the answer")


def test_a_chat_models_predictions_are_evaluated_with_steering(release, tmp_path):
    with ChatServer(answer=server_answer("never in a prompt")) as server:
        answered = predict(release, chat(server, tmp_path), targets=[None, "fr"], by="country")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate(
            release, answered.predictions.drop("read_from"), by="country", n_resamples=0
        )
    assert result.coverage["release_units_predicted"] == result.coverage["release_units"]
    assert (result.groups["pick_agreement"] > 0).all()
    assert result.steering is not None and result.steering["target"].to_list() == ["fr"]


def test_the_command_asks_a_local_server_and_a_rerun_asks_nothing(release, tmp_path, capsys):
    saved = tmp_path / "answers.csv"
    arguments = [
        "evaluate", str(release), "--by", "country", "--resamples", "0", "--limit", "40",
        "--targets", "fr", "--save-predictions", str(saved), "--cache-dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    with ChatServer(answer=server_answer("never in a prompt")) as server:
        arguments += ["--model", "test/chooser", "--base-url", server.url]
        assert main(arguments) == 0
        first = capsys.readouterr().out
        sent = len(server.requests)
        assert main(arguments) == 0
        assert len(server.requests) == sent == 80
    assert "test/chooser: 80 answers (40 from token probabilities), 0 without a letter" in first
    assert "Predictions from test/chooser (weights) against" in first
    assert "Steering" in first
    assert pl.read_csv(saved).height == 80


def test_a_dry_run_counts_and_sends_nothing(release, tmp_path, capsys):
    with ChatServer(answer=server_answer("never in a prompt")) as server:
        code = main(
            ["evaluate", str(release), "--model", "test/chooser", "--base-url", server.url,
             "--limit", "5", "--targets", "us,in", "--by", "country", "--dry-run",
             "--cache-dir", str(tmp_path / "cache")]
        )  # fmt: skip
        assert server.requests == []
    out = capsys.readouterr().out
    assert code == 0
    assert "5 units in" in out and "asked 3 way(s)" in out
    assert "15 requests to test/chooser: 0 already answered" in out and "nothing was sent" in out


def test_the_command_wants_predictions_or_a_model_and_says_so_offline(
    release, tmp_path, capsys, monkeypatch
):
    assert main(["evaluate", str(release)]) == 2
    assert "give --predictions FILE, or --model NAME" in capsys.readouterr().err
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with ChatServer(answer=server_answer("never in a prompt")) as server:
        code = main(
            ["evaluate", str(release), "--model", "m", "--base-url", server.url, "--limit", "2",
             "--cache-dir", str(tmp_path / "cache")]
        )  # fmt: skip
        assert server.requests == []
    error = capsys.readouterr().err
    assert code == 2 and "HF_HUB_OFFLINE=0" in error and error.count("\n") == 1


def test_a_wrong_group_field_is_refused_before_anything_is_asked(release, tmp_path, capsys):
    with ChatServer(answer=server_answer("never in a prompt")) as server:
        code = main(
            ["evaluate", str(release), "--model", "m", "--base-url", server.url, "--by", "contry",
             "--cache-dir", str(tmp_path / "cache")]
        )  # fmt: skip
        assert server.requests == []
    assert code == 2 and "no column contry to group by" in capsys.readouterr().err
