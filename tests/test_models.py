"""The chat-model module against a local OpenAI-compatible server started by the test."""

from __future__ import annotations

import json

import pytest

from community_alignment.models import ChatModel, ChatModelError, ChatRequest, estimate_tokens
from tests.chat_server import ChatServer, Scripted

SCHEMA = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}


def ask(text: str, **options) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": text}], max_tokens=16, **options)


def model(server: ChatServer, tmp_path, **options) -> ChatModel:
    settings = {"timeout": 2.0, "retries": 3, "backoff": 0.01, "max_backoff": 0.05}
    settings |= options
    return ChatModel(
        "test/judge",
        base_url=server.url,
        cache_dir=tmp_path / "cache",
        progress=False,
        **settings,
    )


def test_answers_come_back_in_request_order_with_usage(tmp_path):
    with ChatServer({"one": "1", "two": "2", "three": "3"}) as server:
        replies = model(server, tmp_path).ask_all([ask("two"), ask("one"), ask("three")])
    assert [r.content for r in replies] == ["2", "1", "3"]
    assert all(r.ok and not r.cached for r in replies)
    assert replies[0].finish_reason == "stop" and replies[0].prompt_tokens is not None
    assert {body["model"] for body in server.requests} == {"test/judge"}


def test_repeated_requests_are_asked_once_and_a_rerun_asks_nothing(tmp_path):
    requests = [ask("one"), ask("two"), ask("one")]
    with ChatServer({"one": "1", "two": "2"}) as server:
        first = model(server, tmp_path).ask_all(requests)
        assert len(server.requests) == 2
        again = model(server, tmp_path).ask_all(requests)
        assert len(server.requests) == 2
    assert [r.content for r in again] == [r.content for r in first] == ["1", "2", "1"]
    assert all(r.cached for r in again)


def test_the_cache_does_not_depend_on_the_server(tmp_path):
    with ChatServer({"one": "1"}) as server:
        model(server, tmp_path).ask(ask("one"))
    with ChatServer({"one": "changed"}) as other:
        reply = model(other, tmp_path).ask(ask("one"))
        assert other.requests == []
    assert reply.content == "1" and reply.cached


def test_429_and_500_are_asked_again(tmp_path):
    table = {
        "busy": [Scripted(status=429, headers={"Retry-After": "0"}), "ok"],
        "broken": [Scripted(status=500), Scripted(status=503), "fine"],
    }
    with ChatServer(table) as server:
        chat = model(server, tmp_path)
        replies = chat.ask_all([ask("busy"), ask("broken")])
    assert [r.content for r in replies] == ["ok", "fine"]
    assert server.asked("busy") == 2 and server.asked("broken") == 3
    assert chat.counts.retried == 3


def test_a_timeout_is_asked_again(tmp_path):
    with ChatServer({"slow": [Scripted(content="late", delay=2.5), "quick"]}) as server:
        reply = model(server, tmp_path, timeout=1.0).ask(ask("slow"))
    assert reply.content == "quick"
    assert server.asked("slow") == 2


def test_a_malformed_reply_is_asked_again(tmp_path):
    with ChatServer({"odd": [Scripted(body=b"<html>gateway</html>"), "ok"]}) as server:
        reply = model(server, tmp_path).ask(ask("odd"))
    assert reply.content == "ok" and server.asked("odd") == 2


def test_a_request_that_always_fails_is_reported_and_not_cached(tmp_path):
    with ChatServer({"down": Scripted(status=503), "up": "fine"}) as server:
        replies = model(server, tmp_path, retries=2).ask_all([ask("down"), ask("up")])
        assert server.asked("down") == 3
        assert not replies[0].ok and replies[0].content is None
        assert "3 tries" in replies[0].error and "HTTP 503" in replies[0].error
        assert replies[1].content == "fine"
        model(server, tmp_path, retries=0).ask_all([ask("down"), ask("up")])
        assert server.asked("down") == 4 and server.asked("up") == 1


def test_an_error_that_retrying_cannot_fix_stops_at_once(tmp_path):
    with ChatServer({"who": Scripted(status=401, body=b'{"error": "bad token"}')}) as server:
        with pytest.raises(ChatModelError, match="refused the request"):
            model(server, tmp_path).ask(ask("who"))
    assert server.asked("who") == 1


def test_replies_in_flight_when_a_run_stops_are_cached(tmp_path):
    table = {"slow": Scripted(content="kept", delay=0.5), "who": Scripted(status=401)}
    with ChatServer(table) as server:
        with pytest.raises(ChatModelError):
            model(server, tmp_path, concurrency=2).ask_all([ask("slow"), ask("who")])
    with ChatServer({"who": "fine now"}) as fixed:
        replies = model(fixed, tmp_path).ask_all([ask("slow"), ask("who")])
        assert fixed.asked("slow") == 0 and fixed.asked("who") == 1
    assert [r.content for r in replies] == ["kept", "fine now"] and replies[0].cached


def test_structured_output_is_requested_with_the_schema(tmp_path):
    with ChatServer({"x": '{"x": 1}'}) as server:
        reply = model(server, tmp_path).ask(ask("x", json_schema=SCHEMA))
    sent = server.requests[0]["response_format"]
    assert json.dumps(SCHEMA, sort_keys=True) in json.dumps(sent, sort_keys=True)
    assert reply.structured and json.loads(reply.content) == {"x": 1}


def test_a_server_without_structured_output_is_asked_without_it(tmp_path):
    with ChatServer({"x": '{"x": 1}', "y": '{"x": 2}'}, reject_response_format=True) as server:
        chat = model(server, tmp_path)
        first = chat.ask(ask("x", json_schema=SCHEMA))
        second = chat.ask(ask("y", json_schema=SCHEMA))
    assert [r.content for r in (first, second)] == ['{"x": 1}', '{"x": 2}']
    assert not first.structured and not second.structured
    assert [("response_format" in body) for body in server.requests] == [True, False, False]


def test_token_logprobs_are_read_where_the_server_gives_them(tmp_path):
    table = {"pick": Scripted(content="b", logprobs=[("b", -0.25)]), "plain": "c"}
    with ChatServer(table) as server:
        chat = model(server, tmp_path)
        picked = chat.ask(ask("pick", logprobs=3))
        plain = chat.ask(ask("plain", logprobs=3))
        cached = model(server, tmp_path).ask(ask("pick", logprobs=3))
    assert server.requests[0]["logprobs"] is True and server.requests[0]["top_logprobs"] == 3
    assert picked.logprobs[0].token == "b" and picked.logprobs[0].logprob == -0.25
    assert picked.logprobs[0].top == (("b", -0.25),)
    assert plain.logprobs is None
    assert cached.cached and cached.logprobs == picked.logprobs


def test_dry_run_counts_requests_and_tokens_and_sends_nothing(tmp_path):
    with ChatServer({"one": "1"}) as server:
        chat = model(server, tmp_path)
        chat.ask(ask("one"))
        estimate = chat.estimate([ask("one"), ask("two " * 40), ask("two " * 40)])
        assert len(server.requests) == 1
    assert (estimate.requests, estimate.cached, estimate.to_send) == (3, 2, 1)
    assert estimate.prompt_tokens == 4 + estimate_tokens("two " * 40)
    assert estimate.max_completion_tokens == 16
    assert "1 to send" in str(estimate)


def test_offline_mode_gives_one_clear_line(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with ChatServer({"one": "1"}) as server:
        chat = model(server, tmp_path)
        assert chat.estimate([ask("one")]).to_send == 1  # a dry run needs no network
        with pytest.raises(ChatModelError, match="HF_HUB_OFFLINE=0") as error:
            chat.ask(ask("one"))
    assert "\n" not in str(error.value) and server.requests == []


def test_a_torn_last_cache_line_is_dropped_and_asked_again(tmp_path):
    with ChatServer({"one": "1", "two": "2"}) as server:
        chat = model(server, tmp_path)
        chat.ask_all([ask("one"), ask("two")])
        data = chat.cache_path.read_bytes()
        chat.cache_path.write_bytes(data[:-5])
        with pytest.warns(UserWarning, match="incomplete last line"):
            model(server, tmp_path).ask_all([ask("one"), ask("two")])
    assert len(server.requests) == 3


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="concurrency"):
        ChatModel("m", concurrency=0)
    with pytest.raises(ValueError, match="base_url"):
        ChatModel("m", base_url="127.0.0.1:8000")
