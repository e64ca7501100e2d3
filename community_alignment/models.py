"""The one place that talks to a chat model: :class:`ChatModel` sends :class:`ChatRequest` s.

Requests go through ``huggingface_hub.InferenceClient``, to Inference Providers by model name
or to any OpenAI-compatible server (TGI, vLLM, llama.cpp, Ollama) by ``base_url``, with bounded
concurrency, retries with exponential backoff on 429, 5xx, timeouts and dropped connections,
and an on-disk cache keyed by the model and the request's content (not the server), so that a
rerun asks nothing twice. :meth:`ChatModel.estimate` counts requests and tokens before
anything is spent.

>>> request = ChatRequest([{"role": "user", "content": "Pick a, b, c or d."}], max_tokens=4)
>>> request.key("some/model") == ChatRequest(request.messages, max_tokens=4).key("some/model")
True
>>> request.key("some/model") == request.key("other/model")
False
"""

from __future__ import annotations

import hashlib
import importlib
import json
import random
import re
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ChatModel",
    "ChatModelError",
    "ChatReply",
    "ChatRequest",
    "Estimate",
    "TokenLogprob",
    "default_cache_dir",
    "estimate_tokens",
]

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses worth asking again (besides any other 5xx)."""

_CACHE_VERSION = 1
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


class ChatModelError(RuntimeError):
    """A request that cannot succeed by asking again (bad model name, token, offline mode...)."""


def default_cache_dir() -> Path:
    """Where replies are cached unless told otherwise: ``$HF_HOME/community_alignment/chat``.

    ``HF_HOME`` is huggingface_hub's cache root (``~/.cache/huggingface`` by default).
    """
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "community_alignment" / "chat"


def estimate_tokens(text: str) -> int:
    """About how many tokens a text costs: a quarter of its UTF-8 bytes, at least one.

    Byte-pair tokenisers spend about four bytes per token on English and about one token per
    Devanagari letter (three bytes), so bytes / 4 is a fair round figure for every language of
    the corpus; it is an estimate for budgeting, not a count.

    >>> estimate_tokens("What is a moral dilemma?"), estimate_tokens("नमस्ते")
    (6, 4)
    """
    return max(1, round(len(text.encode("utf-8")) / 4))


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to ask for.

    ``messages`` are OpenAI-style ``{"role": ..., "content": ...}`` dicts. ``json_schema``
    asks for structured output (a JSON object of that schema) where the server supports it;
    ``logprobs`` asks for the log-probabilities of each answer token and of that many top
    alternatives (0: the tokens' own only) where the server gives them. The default
    temperature 0 makes an answer as repeatable as the server allows, which is what a cached
    answer stands for.
    """

    messages: Sequence[Mapping[str, str]]
    max_tokens: int = 256
    temperature: float = 0.0
    json_schema: Mapping[str, Any] | None = None
    schema_name: str = "answer"
    logprobs: int | None = None
    seed: int | None = None

    def content(self, model: str) -> dict[str, Any]:
        """What the reply depends on: the model and the request, not the server it goes to."""
        return {
            "cache_version": _CACHE_VERSION,
            "model": model,
            "messages": [dict(message) for message in self.messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "json_schema": None if self.json_schema is None else dict(self.json_schema),
            "schema_name": self.schema_name,
            "logprobs": self.logprobs,
            "seed": self.seed,
        }

    def key(self, model: str) -> str:
        """The cache key: sha256 of the canonical JSON of :meth:`content`."""
        text = json.dumps(
            self.content(model), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def prompt_tokens(self) -> int:
        """About how many tokens the messages cost (:func:`estimate_tokens`, plus 4 per message)."""
        return sum(4 + estimate_tokens(str(m.get("content", ""))) for m in self.messages)


@dataclass(frozen=True)
class TokenLogprob:
    """One answer token, its log-probability and the top alternatives the server gave."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class ChatReply:
    """The answer to one :class:`ChatRequest`.

    ``content`` is the answer's text (None when every try failed; ``error`` then says why, and
    nothing was cached, so a rerun asks again). ``structured`` is whether the server took the
    request's ``json_schema``; ``logprobs`` is None where the server gave none. ``cached`` is
    whether the reply came from the on-disk cache.
    """

    content: str | None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None
    structured: bool = False
    cached: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_record(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "logprobs": None
            if self.logprobs is None
            else [[t.token, t.logprob, [list(pair) for pair in t.top]] for t in self.logprobs],
            "structured": self.structured,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], *, cached: bool) -> ChatReply:
        logprobs = record.get("logprobs")
        return cls(
            content=record.get("content"),
            finish_reason=record.get("finish_reason"),
            prompt_tokens=record.get("prompt_tokens"),
            completion_tokens=record.get("completion_tokens"),
            logprobs=None
            if logprobs is None
            else tuple(
                TokenLogprob(token, logprob, tuple((t, p) for t, p in top))
                for token, logprob, top in logprobs
            ),
            structured=bool(record.get("structured")),
            cached=cached,
        )


@dataclass(frozen=True)
class Estimate:
    """What a batch of requests would cost, before anything is sent.

    ``prompt_tokens`` is :meth:`ChatRequest.prompt_tokens` summed over the requests still to
    send; ``max_completion_tokens`` the most their answers may cost (their ``max_tokens``).
    """

    model: str
    requests: int
    cached: int
    to_send: int
    prompt_tokens: int
    max_completion_tokens: int

    def __str__(self) -> str:
        return (
            f"{self.requests} requests to {self.model}: {self.cached} already answered (cached or "
            f"repeated), "
            f"{self.to_send} to send, about {self.prompt_tokens:,} prompt tokens and at most "
            f"{self.max_completion_tokens:,} answer tokens"
        )


class _Cache:
    """Replies on disk, one JSON line per request (``{"key": ..., "reply": {...}}``).

    One file per model; lines are appended as replies arrive, so an interrupted run keeps
    every answer it got. A torn last line (the run died mid-write) is dropped.
    """

    def __init__(self, directory: Path, model: str) -> None:
        self.path = directory / f"{_SLUG.sub('_', model.replace('/', '--'))}.jsonl"
        self._lock = threading.Lock()
        self._replies: dict[str, dict[str, Any]] | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._replies is not None:
            return self._replies
        replies: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):
                cut = data.rfind(b"\n") + 1
                warnings.warn(
                    f"{self.path}: dropping an incomplete last line (an interrupted write); "
                    "that request is asked again",
                    stacklevel=4,
                )
                with open(self.path, "r+b") as handle:
                    handle.truncate(cut)
                data = data[:cut]
            for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    replies[record["key"]] = record["reply"]
                except (json.JSONDecodeError, KeyError, TypeError) as error:
                    raise ValueError(
                        f"{self.path}: line {number} is not a cached reply ({error}); "
                        "delete the file to start afresh"
                    ) from error
        self._replies = replies
        return replies

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._load().get(key)

    def put(self, key: str, reply: dict[str, Any]) -> None:
        line = json.dumps({"key": key, "reply": reply}, ensure_ascii=False) + "\n"
        with self._lock:
            self._load()[key] = reply
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Connection-level errors of the HTTP library huggingface_hub uses (httpx2, httpx or requests)."""
    kinds: list[type[BaseException]] = [OSError]  # requests' errors and socket errors
    for module_name in ("httpx2", "httpx"):
        try:
            kinds.append(importlib.import_module(module_name).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(kinds)


def _offline() -> bool:
    from huggingface_hub import constants

    check = getattr(constants, "is_offline_mode", None)
    return bool(check() if check is not None else constants.HF_HUB_OFFLINE)


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _parse_output(output: Any, structured: bool) -> ChatReply:
    """A :class:`ChatReply` from a chat completion (huggingface_hub's type or a plain dict)."""
    choices = _get(output, "choices")
    if not choices:
        raise ValueError("the reply has no choices")
    choice = choices[0]
    message = _get(choice, "message")
    content = _get(message, "content")
    if content is not None and not isinstance(content, str):
        raise ValueError(f"the reply's content is {type(content).__name__}, not text")
    logprobs = None
    given = _get(_get(choice, "logprobs"), "content")
    if given:
        logprobs = tuple(
            TokenLogprob(
                str(_get(item, "token")),
                float(_get(item, "logprob")),
                tuple(
                    (str(_get(alt, "token")), float(_get(alt, "logprob")))
                    for alt in (_get(item, "top_logprobs") or ())
                ),
            )
            for item in given
        )
    usage = _get(output, "usage")
    return ChatReply(
        content=content,
        finish_reason=_get(choice, "finish_reason"),
        prompt_tokens=_get(usage, "prompt_tokens"),
        completion_tokens=_get(usage, "completion_tokens"),
        logprobs=logprobs,
        structured=structured,
    )


@dataclass
class _Counts:
    sent: int = 0
    cached: int = 0
    retried: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)


class ChatModel:
    """A chat model behind ``huggingface_hub.InferenceClient``, with retries and a cache.

    ``model`` is the model's name (a Hub model id for Inference Providers, or the name the
    server at ``base_url`` knows it by, e.g. ``http://127.0.0.1:8000/v1``). ``provider`` and
    ``token`` go to the client as they are (without a token, huggingface_hub's saved one is
    used). At most ``concurrency`` requests are in flight; a request that times out after
    ``timeout`` seconds, a dropped connection, a malformed reply, a 429 or a 5xx is asked again
    up to ``retries`` times, after ``backoff * 2**attempt`` seconds (at most ``max_backoff``,
    or the server's ``Retry-After``), with jitter. Replies are cached under ``cache_dir``
    (default :func:`default_cache_dir`). A server that rejects a request's ``json_schema``
    (400 or 422) is asked again without it, and not asked for structured output again.

    With ``HF_HUB_OFFLINE`` set, huggingface_hub refuses every request, even to a server on
    this machine; :meth:`ask_all` then stops at once with a :class:`ChatModelError` saying so.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        provider: str | None = None,
        token: str | None = None,
        cache_dir: str | Path | None = None,
        concurrency: int = 4,
        timeout: float = 120.0,
        retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        progress: bool = True,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"the model must be a name, got {model!r}")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a positive whole number, got {concurrency!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a whole number >= 0, got {retries!r}")
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.model = model
        self.base_url = base_url
        self.provider = provider
        self.concurrency = concurrency
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.progress = progress
        self.counts = _Counts()
        self._cache = _Cache(Path(cache_dir) if cache_dir else default_cache_dir(), model)
        self._token = token
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._structured = True  # until the server rejects a response_format
        self._transport = _transport_errors()

    def __repr__(self) -> str:
        where = self.base_url or f"provider {self.provider or 'auto'}"
        return f"ChatModel({self.model!r} at {where})"

    @property
    def cache_path(self) -> Path:
        return self._cache.path

    @property
    def where(self) -> str:
        return self.base_url or f"Inference Providers ({self.provider or 'auto'})"

    # ------------------------------------------------------------------------------------
    # Asking
    # ------------------------------------------------------------------------------------

    def estimate(self, requests: Sequence[ChatRequest]) -> Estimate:
        """Count what :meth:`ask_all` would send, without sending anything.

        Requests already answered in the cache, and repeated requests, cost nothing.
        """
        seen: set[str] = set()
        cached = prompt = completion = 0
        for request in requests:
            key = request.key(self.model)
            if key in seen:
                cached += 1
                continue
            seen.add(key)
            if self._cache.get(key) is not None:
                cached += 1
                continue
            prompt += request.prompt_tokens()
            completion += request.max_tokens
        return Estimate(
            self.model, len(requests), cached, len(requests) - cached, prompt, completion
        )

    def ask(self, request: ChatRequest) -> ChatReply:
        """Ask one request (from the cache if it was asked before)."""
        return self.ask_all([request], description=None)[0]

    def ask_all(
        self, requests: Sequence[ChatRequest], *, description: str | None = "asking"
    ) -> list[ChatReply]:
        """Ask every request, at most ``concurrency`` at a time; replies in the same order.

        Repeated requests are asked once. A request whose every try failed gets a reply with
        ``error`` set (and is not cached). An error that asking again cannot fix (401, 404,
        a rejected request, offline mode) raises :class:`ChatModelError` after the requests
        in flight have finished; every reply received so far stays cached.
        ``description`` labels the progress bar (None: no bar).
        """
        keys = [request.key(self.model) for request in requests]
        replies: dict[str, ChatReply] = {}
        todo: dict[str, ChatRequest] = {}
        for key, request in zip(keys, requests, strict=True):
            if key in replies or key in todo:
                continue
            record = self._cache.get(key)
            if record is not None:
                replies[key] = ChatReply.from_record(record, cached=True)
            else:
                todo[key] = request
        self.counts.add("cached", len(replies))
        if todo:
            if _offline():
                raise ChatModelError(self._offline_message())
            replies |= self._send_all(todo, description, already=len(replies))
        return [replies[key] for key in keys]

    def _send_all(
        self, todo: dict[str, ChatRequest], description: str | None, *, already: int
    ) -> dict[str, ChatReply]:
        from huggingface_hub.utils import tqdm

        replies: dict[str, ChatReply] = {}
        bar = tqdm(
            total=already + len(todo),
            initial=already,
            desc=description or "",
            unit="request",
            disable=not self.progress or description is None,
        )
        pool = ThreadPoolExecutor(max_workers=self.concurrency)
        try:
            futures = {
                pool.submit(self._send_and_cache, key, request): key
                for key, request in todo.items()
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    error = future.exception()
                    if error is not None:
                        for other in pending:
                            other.cancel()
                        wait(pending)  # let requests in flight finish (and be cached)
                        raise error
                    replies[futures[future]] = future.result()
                    bar.update(1)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
        return replies

    def _offline_message(self) -> str:
        if self.base_url is None:
            return (
                "HF_HUB_OFFLINE is set, and Inference Providers need the network: run this "
                "command with HF_HUB_OFFLINE=0, or give --base-url of a server on this machine"
            )
        return (
            "HF_HUB_OFFLINE is set, and huggingface_hub then refuses every request, even to a "
            f"server on this machine ({self.base_url}): run this command with HF_HUB_OFFLINE=0 "
            "(a local release folder is read without the Hub)"
        )

    def _send_and_cache(self, key: str, request: ChatRequest) -> ChatReply:
        # Cached by the worker, so that a reply that arrives is kept even when the run stops
        # (an error elsewhere, Ctrl-C) before the main thread reads it.
        reply = self._send(request)
        if reply.ok:
            self._cache.put(key, reply.to_record())
        return reply

    def _client_for(self) -> Any:
        with self._client_lock:
            if self._client is not None:
                return self._client
            from huggingface_hub import InferenceClient

            self._client = InferenceClient(
                base_url=self.base_url,
                provider=None if self.base_url else self.provider,
                token=self._token,
                timeout=self.timeout,
            )
        return self._client

    def _call(self, request: ChatRequest, structured: bool) -> Any:
        extra: dict[str, Any] = {}
        if structured and request.json_schema is not None:
            extra["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.schema_name,
                    "schema": dict(request.json_schema),
                },
            }
        if request.logprobs is not None:
            extra["logprobs"] = True
            if request.logprobs > 0:
                extra["top_logprobs"] = request.logprobs
        return self._client_for().chat_completion(
            [dict(message) for message in request.messages],
            model=self.model,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            seed=request.seed,
            **extra,
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self.max_backoff, retry_after)
        base = min(self.max_backoff, self.backoff * 2**attempt)
        return base * random.uniform(0.5, 1.0)  # jitter: concurrent retries do not line up

    def _send(self, request: ChatRequest) -> ChatReply:
        """One request, tried up to ``1 + retries`` times; raises only what retrying cannot fix."""
        from huggingface_hub.errors import (
            HfHubHTTPError,
            InferenceTimeoutError,
            OfflineModeIsEnabled,
        )

        last = "no try"
        for attempt in range(self.retries + 1):
            if attempt:
                self.counts.add("retried")
            retry_after = None
            structured = self._structured and request.json_schema is not None
            try:
                self.counts.add("sent")
                output = self._call(request, structured)
                return _parse_output(output, structured)
            except OfflineModeIsEnabled as error:
                raise ChatModelError(self._offline_message()) from error
            except HfHubHTTPError as error:
                response = getattr(error, "response", None)
                status = getattr(response, "status_code", None)
                if status in (400, 422) and structured:
                    # The server does not take this response_format: ask without it, and
                    # parse the answer defensively from now on.
                    self._structured = False
                    last = f"HTTP {status} with structured output; asked again without it"
                    continue
                if status is None or (status not in RETRY_STATUSES and status < 500):
                    raise ChatModelError(
                        f"{self.model} at {self.where} refused the request: {_one_line(str(error))}"
                    ) from error
                last = f"HTTP {status}"
                retry_after = _retry_after(response)
            except InferenceTimeoutError:
                last = f"timed out after {self.timeout:g} s"
            except self._transport as error:
                last = f"{type(error).__name__}: {_one_line(str(error))}"
            except (ValueError, KeyError, TypeError) as error:
                last = f"malformed reply: {_one_line(str(error))}"
            if attempt < self.retries:
                time.sleep(self._delay(attempt, retry_after))
        self.counts.add("failed")
        return ChatReply(
            content=None, error=f"no answer after {self.retries + 1} tries (last: {last})"
        )


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    value = headers.get("retry-after") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:  # an HTTP date: fall back to our own backoff
        return None
