"""IW labels from a judge model: a chat model places each distinct response on the IW map.

The rubric is data (``community_alignment/data/iw_rubric.yaml``, versioned), built from the
World Values Survey items that define each axis; the judge sees the user's prompt and the
response in their own language and answers a JSON object with ``traditional_secular`` and
``survival_self_expression`` in [-1, 1] and a short ``reason``. Only distinct responses are
asked (one request per :func:`~community_alignment.hashing.response_key`), through
:class:`~community_alignment.models.ChatModel`, whose cache makes a rerun ask nothing twice.
An answer that cannot be read is asked once more, then recorded as unlabelled with the
reason; a label is never guessed. The ``labeller`` column names the rubric version and the
model, so that two judges' labellings can be compared (:mod:`community_alignment.iw_compare`).

Labels are a model's reading of the responses, not ground truth.

>>> parse_answer('```json\\n{"traditional_secular": -0.5, "survival_self_expression": 0.25}\\n```')
({'traditional_secular': -0.5, 'survival_self_expression': 0.25, 'reason': None}, None)
>>> parse_answer('{"traditional_secular": 2, "survival_self_expression": 0}')[1]
'traditional_secular 2 is outside [-1, 1]'
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from community_alignment.hashing import response_key
from community_alignment.inputs import Source, as_lazyframe
from community_alignment.iw import AXES, Labels, load_labels, pole_of_scores
from community_alignment.iw.labels import LABEL_SCHEMA as IW_LABEL_SCHEMA
from community_alignment.models import ChatModel, ChatReply, ChatRequest, Estimate

__all__ = [
    "RUBRIC_FILE",
    "IWJudge",
    "JudgeItem",
    "Judged",
    "Rubric",
    "corpus_items",
    "label_corpus",
    "load_rubric",
    "parse_answer",
]

RUBRIC_FILE = "iw_rubric.yaml"

LABEL_SCHEMA = IW_LABEL_SCHEMA | {"reason": pl.String}
UNLABELLED_SCHEMA = {
    "response_key": pl.String,
    "labeller": pl.String,
    "problem": pl.String,
    "answer": pl.String,
}

_PLACEHOLDER = re.compile(r"\{(language|prompt|response|problem)\}")
_FENCE = re.compile(r"^```[A-Za-z]*\s*|\s*```$")
NO_ANSWER = "no answer"


# --------------------------------------------------------------------------------------------
# The rubric
# --------------------------------------------------------------------------------------------


def _fill(template: str, **values: str) -> str:
    """Fill ``{language}``, ``{prompt}``, ``{response}``, ``{problem}`` in one pass (a text
    that itself holds ``{response}`` is left as it is; the JSON braces of the rubric too)."""
    return _PLACEHOLDER.sub(lambda match: values.get(match[1], match[0]), template)


@dataclass(frozen=True)
class Rubric:
    """A judge's instructions: ``system`` (the rubric), ``user`` (one response, with its
    prompt and language), ``retry`` (after an answer that could not be read), the answer's JSON
    ``schema`` and ``max_tokens``. ``tag`` (``name-vN``) goes into the labeller name."""

    version: int
    name: str
    system: str
    user: str
    retry: str
    schema: Mapping[str, Any]
    max_tokens: int

    @property
    def tag(self) -> str:
        return f"{self.name}-v{self.version}"

    def messages(self, response: str, prompt: str | None, language: str | None) -> list[dict]:
        user = _fill(
            self.user,
            language=language or "unknown",
            prompt=prompt if prompt is not None else "(not shown)",
            response=response,
        )
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]

    def retry_messages(self, first: Sequence[Mapping[str, str]], answer: str, problem: str):
        return [
            *(dict(message) for message in first),
            {"role": "assistant", "content": answer},
            {"role": "user", "content": _fill(self.retry, problem=problem)},
        ]


def load_rubric(path: str | Path | None = None) -> Rubric:
    """The shipped rubric (``community_alignment/data/iw_rubric.yaml``), or one from ``path``.

    >>> rubric = load_rubric()
    >>> rubric.tag, sorted(rubric.schema["required"])[:2]
    ('iw-rubric-v1', ['reason', 'survival_self_expression'])
    """
    if path is None:
        origin = f"community_alignment/data/{RUBRIC_FILE}"
        text = (
            resources.files("community_alignment")
            .joinpath("data", RUBRIC_FILE)
            .read_text(encoding="utf-8")
        )
    else:
        origin = str(path)
        if not Path(path).is_file():
            raise FileNotFoundError(f"no rubric file at {path}")
        text = Path(path).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    fields = ("version", "name", "system", "user", "retry", "schema", "max_tokens")
    missing = [f for f in fields if not isinstance(data, dict) or f not in data]
    if missing:
        raise ValueError(f"{origin}: the rubric lacks {', '.join(missing)}")
    for needed in ("{response}", "{prompt}", "{language}"):
        if needed not in data["user"]:
            raise ValueError(f"{origin}: the user template lacks the placeholder {needed}")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", str(data["name"])) or not isinstance(
        data["version"], int
    ):
        raise ValueError(f"{origin}: name must be a plain word and version a whole number")
    return Rubric(**{f: data[f] for f in fields})


# --------------------------------------------------------------------------------------------
# Reading an answer
# --------------------------------------------------------------------------------------------


def _json_objects(text: str):
    decoder = json.JSONDecoder()
    for start in (i for i, char in enumerate(text) if char == "{"):
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            yield value


def parse_answer(content: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The scores in a judge's answer, or None and the problem that stops them being read.

    Takes the first JSON object holding both axes, also inside a code fence or after some
    prose; each score must be a number (or a number written as text) in [-1, 1]. ``reason``
    is kept when it is text.

    >>> parse_answer('Sure! {"traditional_secular": "0.3", "survival_self_expression": -1, '
    ...              '"reason": "duty"}')
    ({'traditional_secular': 0.3, 'survival_self_expression': -1.0, 'reason': 'duty'}, None)
    >>> parse_answer("I cannot judge this.")
    (None, 'no JSON object in the answer')
    """
    if content is None or not content.strip():
        return None, "the answer is empty"
    objects = list(_json_objects(_FENCE.sub("", content.strip())))
    if not objects:
        return None, "no JSON object in the answer"
    found = next((o for o in objects if all(axis in o for axis in AXES)), None)
    if found is None:
        return None, f"the JSON object lacks {' or '.join(a for a in AXES if a not in objects[0])}"
    scores: dict[str, Any] = {}
    for axis in AXES:
        value = found[axis]
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                return None, f"{axis} {found[axis]!r} is not a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return None, f"{axis} {found[axis]!r} is not a number"
        if not -1.0 <= value <= 1.0:
            return None, f"{axis} {found[axis]!r} is outside [-1, 1]"
        scores[axis] = float(value)
    reason = found.get("reason")
    scores["reason"] = reason.strip() if isinstance(reason, str) and reason.strip() else None
    return scores, None


# --------------------------------------------------------------------------------------------
# The responses of a corpus
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JudgeItem:
    """One distinct response to judge, with a prompt it answered and the conversation's
    language (None where not known)."""

    response_key: str
    response: str
    prompt: str | None = None
    language: str | None = None


def corpus_items(source: Source, *, limit: int | None = None) -> list[JudgeItem]:
    """Every distinct candidate response of a corpus (one per ``response_key``), sorted by key.

    A response shown under several prompts is judged once, with the first of its prompts in
    text order (a deterministic choice). ``limit`` keeps the first ``limit`` keys: the key is
    a hash, so they are a stable pseudo-random sample.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive whole number, got {limit!r}")
    lazy = as_lazyframe(source, ["responses", "prompt", "language"])
    names = lazy.collect_schema().names()
    if "responses" not in names:
        raise ValueError(
            "the comparisons table lacks the column responses "
            f"(it has: {', '.join(names) or 'no columns'})"
        )
    context = [c for c in ("prompt", "language") if c in names]
    rows = (
        lazy.select(pl.col("responses").cast(pl.List(pl.String)), *context)
        .explode("responses")
        .drop_nulls("responses")
        .sort("responses", *context, nulls_last=True)
        .unique("responses", keep="first", maintain_order=True)
        .collect()
    )
    items = {}
    for row in rows.iter_rows(named=True):
        key = response_key(row["responses"])
        if key not in items:  # texts that differ only by Unicode normalisation share a key
            items[key] = JudgeItem(key, row["responses"], row.get("prompt"), row.get("language"))
    ordered = [items[key] for key in sorted(items)]
    return ordered[:limit] if limit is not None else ordered


# --------------------------------------------------------------------------------------------
# The judge
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    """What a judge made of some responses.

    ``labels``: one row per labelled response (``response_key``, ``pole``, the two scores,
    ``labeller``, ``reason``), loadable as it is by :func:`community_alignment.iw.load_labels`.
    ``unlabelled``: one row per response without a label (``response_key``, ``labeller``,
    ``problem``, ``answer``); a ``problem`` starting with ``no answer`` is a request that
    failed (it is asked again on a rerun), any other is an answer that could not be read
    twice. ``retried``: answers asked once more because the first could not be read.
    """

    labels: pl.DataFrame
    unlabelled: pl.DataFrame
    retried: int

    def to_labels(self) -> Labels:
        return load_labels(self.labels)


class IWJudge:
    """A judge model with a rubric; labels responses (see :meth:`judge`).

    Also a :class:`community_alignment.iw.Labeller` (texts in, label dicts out), for callers
    that have texts alone: the judge then sees no prompt, and a response it could not label
    comes back as a dict with neither pole nor scores and its ``problem``, which
    :func:`community_alignment.iw.label_responses` refuses rather than guess. Label a corpus
    with :func:`label_corpus`, which gives the judge each response's prompt.
    """

    def __init__(self, chat: ChatModel, rubric: Rubric | None = None) -> None:
        self.chat = chat
        self.rubric = rubric or load_rubric()

    @property
    def labeller(self) -> str:
        """The ``labeller`` column: rubric tag and model, e.g. ``iw-rubric-v1:org/model``."""
        return f"{self.rubric.tag}:{self.chat.model}"

    def request(self, item: JudgeItem) -> ChatRequest:
        return ChatRequest(
            self.rubric.messages(item.response, item.prompt, item.language),
            max_tokens=self.rubric.max_tokens,
            json_schema=self.rubric.schema,
            schema_name="iw_position",
        )

    def estimate(self, items: Sequence[JudgeItem]) -> Estimate:
        """The first round's cost (an unreadable answer costs one request more)."""
        return self.chat.estimate([self.request(item) for item in items])

    def judge(self, items: Sequence[JudgeItem], *, progress: bool = True) -> Judged:
        """Ask the judge about every item; answers that cannot be read are asked once more."""
        first = [self.request(item) for item in items]
        replies = self.chat.ask_all(first, description="judging" if progress else None)
        outcome: list[tuple[dict | None, str | None, str | None]] = []
        again: dict[int, ChatRequest] = {}
        for index, (request, reply) in enumerate(zip(first, replies, strict=True)):
            scores, problem = self._read(reply)
            outcome.append((scores, problem, reply.content))
            if scores is None and reply.ok:
                again[index] = ChatRequest(
                    self.rubric.retry_messages(request.messages, reply.content or "", problem),
                    max_tokens=request.max_tokens,
                    json_schema=request.json_schema,
                    schema_name=request.schema_name,
                )
        if again:
            second = self.chat.ask_all(
                list(again.values()), description="asking again" if progress else None
            )
            for index, reply in zip(again, second, strict=True):
                scores, problem = self._read(reply)
                if scores is None and reply.ok:
                    problem = f"the answer could not be read, twice: {problem}"
                outcome[index] = (scores, problem, reply.content)
        labelled, unlabelled = [], []
        for item, (scores, problem, answer) in zip(items, outcome, strict=True):
            if scores is None:
                unlabelled.append([item.response_key, self.labeller, problem, answer])
                continue
            pole = pole_of_scores(scores[AXES[0]], scores[AXES[1]])
            labelled.append(
                [item.response_key, pole, scores[AXES[0]], scores[AXES[1]], self.labeller]
                + [scores["reason"]]
            )
        return Judged(
            labels=pl.DataFrame(labelled, schema=LABEL_SCHEMA, orient="row").sort("response_key"),
            unlabelled=pl.DataFrame(unlabelled, schema=UNLABELLED_SCHEMA, orient="row").sort(
                "response_key"
            ),
            retried=len(again),
        )

    @staticmethod
    def _read(reply: ChatReply) -> tuple[dict | None, str | None]:
        if not reply.ok:
            return None, f"{NO_ANSWER}: {reply.error}"
        scores, problem = parse_answer(reply.content)
        if scores is None and reply.finish_reason == "length":
            problem += " (the answer was cut at max_tokens)"
        return scores, problem

    def __call__(self, texts: list[str]) -> list[Mapping[str, Any]]:
        items = [JudgeItem(response_key(text), text) for text in texts]
        judged = self.judge(items, progress=False)
        labels = {row["response_key"]: row for row in judged.labels.iter_rows(named=True)}
        problems = dict(judged.unlabelled.select("response_key", "problem").iter_rows())
        return [
            labels.get(item.response_key, {"problem": problems.get(item.response_key)})
            for item in items
        ]


def label_corpus(
    source: Source,
    chat: ChatModel,
    *,
    rubric: Rubric | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> Judged:
    """Label every distinct candidate response of a corpus (or the first ``limit``) with a
    judge model; see :class:`Judged`. A rerun asks only what the cache does not hold.

    >>> # with a server on this machine, e.g. llama.cpp's: llama-server -m model.gguf
    >>> # chat = ChatModel("local", base_url="http://127.0.0.1:8080/v1")
    >>> # judged = label_corpus("release/", chat); judged.labels.write_parquet("labels.parquet")
    """
    return IWJudge(chat, rubric).judge(corpus_items(source, limit=limit), progress=progress)


def unlabelled_path(out: str | Path) -> Path:
    """Where the responses without a label go, beside the labels: ``x.unlabelled.parquet``.

    >>> unlabelled_path("runs/labels.parquet").as_posix()
    'runs/labels.unlabelled.parquet'
    """
    out = Path(out)
    return out.with_name(f"{out.stem}.unlabelled{out.suffix}")


def write_judged(judged: Judged, out: str | Path) -> tuple[Path, Path]:
    """Write the labels to ``out`` (.parquet or .csv) and the unlabelled beside them."""
    out = Path(out)
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise ValueError(f"the labels file must end in .parquet or .csv, got {out.name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    pairs = ((judged.labels, out), (judged.unlabelled, unlabelled_path(out)))
    for frame, path in pairs:
        if path.suffix.lower() == ".csv":
            frame.write_csv(path)
        else:
            frame.write_parquet(path)
    return out, unlabelled_path(out)


# --------------------------------------------------------------------------------------------
# Command line: `community-alignment iw label` and `iw compare-labels`
# --------------------------------------------------------------------------------------------

SUBCOMMANDS = ("label", "compare-labels")
EPILOG = (
    "Also: 'iw label RELEASE --model NAME [--base-url URL] [--limit N] [--dry-run] --out "
    "labels.parquet' labels the responses with a judge model, and 'iw compare-labels A B' sets "
    "two labellings side by side (see 'iw label --help'). A release folder named 'label' is "
    "written './label'."
)


def describe_subcommands(iw_parser: argparse.ArgumentParser) -> None:
    """Mention ``iw label`` and ``iw compare-labels`` in ``community-alignment iw --help``."""
    iw_parser.epilog = EPILOG


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="community-alignment iw")
    commands = parser.add_subparsers(dest="iw_command", required=True)
    label = commands.add_parser(
        "label",
        help="label the responses of a release with a judge model",
        description=(
            "Ask a chat model to place every distinct candidate response of a release on the "
            "Inglehart-Welzel map (one request per distinct response; an unreadable answer is "
            "asked once more). The labels file is read as it is by 'community-alignment iw "
            "RELEASE --labels FILE'; responses left unlabelled, with the reason, go beside it "
            "(NAME.unlabelled.parquet). Replies are cached: a rerun asks only what is missing. "
            "Labels are a model's reading, not ground truth."
        ),
    )
    label.add_argument("source", help="release folder or hf://datasets/ORG/NAME path")
    label.add_argument("--model", required=True, help="model name (Hub id, or the server's)")
    label.add_argument(
        "--base-url",
        metavar="URL",
        help="an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (default: Inference "
        "Providers, with your Hugging Face token)",
    )
    label.add_argument("--provider", help="Inference Provider (default: auto)")
    label.add_argument("--limit", type=int, metavar="N", help="only the first N responses by key")
    label.add_argument(
        "--dry-run", action="store_true", help="count requests and tokens; send nothing"
    )
    label.add_argument("--out", metavar="FILE", help="labels file to write (.parquet or .csv)")
    label.add_argument("--rubric", metavar="FILE", help="a rubric file (default: the shipped one)")
    label.add_argument("--cache-dir", metavar="DIR", help="reply cache (default: under HF_HOME)")
    label.add_argument("--concurrency", type=int, default=4, help="requests in flight (4)")
    label.add_argument("--timeout", type=float, default=120.0, help="seconds per request (120)")
    label.add_argument("--retries", type=int, default=5, help="tries more on 429/5xx (5)")
    label.set_defaults(run=_run_label)
    compare = commands.add_parser(
        "compare-labels",
        help="two labellings side by side",
        description=(
            "On the responses both label: correlation per axis, the share given the same pole "
            "(a judge's accuracy when B is the truth) with Cohen's kappa, and the confusion "
            "table of poles."
        ),
    )
    compare.add_argument("a", help="labels file A (CSV, Parquet or JSONL)")
    compare.add_argument("b", help="labels file B")
    compare.add_argument("--json", action="store_true", help="print JSON instead of tables")
    compare.set_defaults(run=_run_compare)
    return parser


def parse_subcommand(argv: Sequence[str]) -> argparse.Namespace | None:
    """Parsed arguments when ``argv`` is ``iw label ...`` or ``iw compare-labels ...``."""
    if len(argv) < 2 or argv[0] != "iw" or argv[1] not in SUBCOMMANDS:
        return None
    return _parser().parse_args(list(argv[1:]))


def _run_label(args: argparse.Namespace) -> int:
    from community_alignment.models import ChatModelError

    if not args.dry_run and not args.out:
        raise ValueError("give --out FILE for the labels (or --dry-run to count only)")
    chat = ChatModel(
        args.model,
        base_url=args.base_url,
        provider=args.provider,
        cache_dir=args.cache_dir,
        concurrency=args.concurrency,
        timeout=args.timeout,
        retries=args.retries,
    )
    judge = IWJudge(chat, load_rubric(args.rubric) if args.rubric else None)
    items = corpus_items(args.source, limit=args.limit)
    if args.dry_run:
        print(
            f"{len(items)} distinct responses in {args.source}"
            + (f" (--limit {args.limit})" if args.limit else "")
            + f", judged by {judge.labeller} at {chat.where}"
        )
        print(f"{judge.estimate(items)}; an unreadable answer costs one request more")
        print("dry run: nothing was sent")
        return 0
    try:
        judged = judge.judge(items)
    except ChatModelError as error:
        print(f"community-alignment: error: {error}", file=sys.stderr)
        return 2
    labels_path, unlabelled = write_judged(judged, args.out)
    failed = judged.unlabelled.filter(pl.col("problem").str.starts_with(NO_ANSWER)).height
    counts = chat.counts
    print(
        f"labelled {judged.labels.height} of {len(items)} responses with {judge.labeller}; "
        f"{judged.unlabelled.height} unlabelled ({failed} without an answer, asked again on a "
        f"rerun; {judged.unlabelled.height - failed} whose answer could not be read twice); "
        f"{judged.retried} asked again after an unreadable answer"
    )
    print(
        f"requests: {counts.sent} sent ({counts.retried} of them retries), {counts.cached} "
        f"answered from the cache {chat.cache_path}"
    )
    print(f"labels: {labels_path}; unlabelled: {unlabelled}")
    return 1 if failed else 0


def _run_compare(args: argparse.Namespace) -> int:
    from community_alignment.iw_compare import compare_labels

    result = compare_labels(args.a, args.b)
    if args.json:
        print(json.dumps({"a": args.a, "b": args.b, **result.to_dict()}, indent=2))
    else:
        print(f"A: {args.a}\nB: {args.b}\n{result.render()}")
    return 0
