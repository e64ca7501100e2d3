"""Labelling a corpus's candidate responses with any :class:`Labeller` (a judge model, a
classifier, a lookup table), in batches, through an on-disk JSONL cache per labeller name, so
that a rerun asks only for what is not labelled yet (:func:`label_responses`)."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from community_alignment.inputs import Source
from community_alignment.iw.labels import (
    LABEL_COLUMNS,
    LABEL_SCHEMA,
    TEXT,
    Labels,
    corpus_responses,
    validated,
)
from community_alignment.iw.poles import AXES, POLES, normalise_pole

__all__ = ["Labeller", "label_responses"]

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class Labeller(Protocol):
    """Labels a batch of response texts: one dict per text, in order.

    Each dict holds ``pole`` (one of :data:`~community_alignment.iw.poles.POLES`) and/or
    ``traditional_secular`` and ``survival_self_expression`` (numbers in [-1, 1]); other keys
    are ignored. A judge model behind an API, a classifier or a lookup table all fit.
    """

    def __call__(self, texts: list[str]) -> list[Mapping[str, Any]]: ...


def _cache_file(cache_dir: str | Path, name: str) -> Path:
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise ValueError(
            f"the labeller name {name!r} must be letters, digits, '.', '_' or '-' "
            "(it names the cache file)"
        )
    return Path(cache_dir) / f"{name}.jsonl"


def _read_cache(path: Path, name: str) -> pl.DataFrame:
    """The cached labels (raw, as the labeller gave them); a torn last line is dropped."""
    if not path.exists():
        return pl.DataFrame(schema=LABEL_SCHEMA)
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        warnings.warn(
            f"{path}: dropping an incomplete last line (an interrupted write); "
            "its response is labelled again",
            stacklevel=3,
        )
        with open(path, "r+b") as handle:
            handle.truncate(cut)
        data = data[:cut]
    records = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: line {number} is not JSON: {error}") from error
        if not isinstance(record, dict):
            raise ValueError(f"{path}: line {number} is not a JSON object")
        records.append({column: record.get(column) for column in LABEL_COLUMNS})
    if not records:
        return pl.DataFrame(schema=LABEL_SCHEMA)
    try:
        frame = pl.DataFrame(records, schema=LABEL_SCHEMA)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as error:
        raise ValueError(
            f"{path}: the cached labels do not have the label types: {error}"
        ) from error
    others = frame.filter(pl.col("labeller") != name)
    if others.height:
        raise ValueError(
            f"{path}: the cache of labeller {name!r} holds labels of {others['labeller'][0]!r}"
        )
    return frame


def _label_record(key: str, output: Any, name: str, batch: int) -> dict[str, Any]:
    where = f"labeller {name!r}, batch {batch}, response {key}"
    if not isinstance(output, Mapping):
        raise ValueError(f"{where}: expected a dict, got {type(output).__name__}")
    record: dict[str, Any] = {"response_key": key, "labeller": name}
    pole = output.get("pole")
    if pole is not None and not isinstance(pole, str):
        raise ValueError(f"{where}: pole must be text, got {pole!r}")
    record["pole"] = None if pole is None else normalise_pole(pole)
    if pole is not None and record["pole"] not in POLES:
        raise ValueError(f"{where}: unknown pole {pole!r}; expected one of {', '.join(POLES)}")
    for axis in AXES:
        value = output.get(axis)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float, np.number))
        ):
            raise ValueError(f"{where}: {axis} must be a number, got {value!r}")
        if value is not None and not -1.0 <= float(value) <= 1.0:
            raise ValueError(f"{where}: {axis} {value!r} is outside [-1, 1]")
        record[axis] = None if value is None else float(value)
    if (record[AXES[0]] is None) != (record[AXES[1]] is None):
        raise ValueError(f"{where}: give both scores or neither, not one")
    if record["pole"] is None and record[AXES[0]] is None:
        raise ValueError(f"{where}: the label has neither a pole nor scores")
    return record


def label_responses(
    source: Source,
    labeller: Labeller | Callable[[list[str]], list[Mapping[str, Any]]],
    *,
    cache_dir: str | Path,
    batch_size: int = 64,
    name: str,
) -> Labels:
    """Label every distinct candidate response of a corpus, reusing the labels cached before.

    The cache is ``cache_dir/<name>.jsonl``, one JSON object per labelled response (keyed by
    ``response_key``). Responses already in it are skipped; the others (sorted by key) go to
    ``labeller`` in batches of ``batch_size`` texts, and each batch's checked labels are
    appended to the cache before the next call, so an interrupted run loses at most one batch.
    A labeller output that is not a list of one dict per text, or a dict with an unknown pole,
    an out-of-range score or neither pole nor scores raises ``ValueError`` naming the response
    key (earlier batches stay cached).

    Returns everything in the cache, responses of other corpora included (see
    :meth:`Labels.coverage_of`); the ``labeller`` column is ``name``.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")
    path = _cache_file(cache_dir, name)
    corpus = corpus_responses(source)
    path.parent.mkdir(parents=True, exist_ok=True)
    cached = _read_cache(path, name)
    if cached.height:
        validated(cached, str(path))
    todo = corpus.join(cached.select("response_key"), on="response_key", how="anti")
    todo = todo.unique("response_key", keep="first").sort("response_key")
    for batch, start in enumerate(range(0, todo.height, batch_size), start=1):
        part = todo.slice(start, batch_size)
        texts = part[TEXT].to_list()
        outputs = labeller(texts)
        if not isinstance(outputs, Sequence) or isinstance(outputs, (str, bytes)):
            raise ValueError(
                f"labeller {name!r}, batch {batch}: expected a list of label dicts, "
                f"got {type(outputs).__name__}"
            )
        if len(outputs) != len(texts):
            raise ValueError(
                f"labeller {name!r}, batch {batch}: {len(outputs)} labels for {len(texts)} texts"
            )
        records = [
            _label_record(key, output, name, batch)
            for key, output in zip(part["response_key"], outputs, strict=True)
        ]
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    everything = _read_cache(path, name)
    if everything.height == 0:
        raise ValueError(f"no labels: the corpus has no responses and {path} is empty")
    return Labels(validated(everything, str(path)))
