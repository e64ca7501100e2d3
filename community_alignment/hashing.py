"""Stable identifiers: sha256 over NFC-normalised text, the same on every machine and version.

polars' own ``hash`` changes between versions, so ids are computed here, once, by one rule.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable

import polars as pl

FIELD_SEPARATOR = "\x1f"  # cannot occur in the released text
NULL_MARKER = "\x00"  # stands for a missing field, distinct from the empty string
ID_LENGTH = 16


def stable_id(fields: Iterable[str | None]) -> str:
    """Hash a sequence of text fields into a 16-hex-digit id.

    >>> stable_id(["What is a moral dilemma?"])
    'b2299222fadc2dee'
    >>> stable_id(["a", None]) != stable_id(["a", ""])
    True
    """
    joined = FIELD_SEPARATOR.join(
        NULL_MARKER if field is None else unicodedata.normalize("NFC", field) for field in fields
    )
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:ID_LENGTH]


def response_key(text: str) -> str:
    """Key of one candidate response as released, used to attach labels (IW values) to it."""
    return stable_id([text])


def fold_of(annotator_id: str, folds: int = 10) -> int:
    """Stable fold (0..folds-1) of an annotator, for held-out-annotator evaluation.

    >>> fold_of("61571086213998")
    9
    """
    digest = hashlib.sha256(unicodedata.normalize("NFC", annotator_id).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % folds


def stable_id_expr(fields: list[pl.Expr], *, leading: list[pl.Expr] = ()) -> pl.Expr:
    """:func:`stable_id` as a polars expression over text fields that are already NFC.

    The fields are joined with the same separator and null marker and hashed with sha256 in
    Rust (polars-hash), so a column of ids costs a fraction of a Python loop; the tests check
    that both give the same ids.

    >>> frame = pl.DataFrame({"prompt": ["What is a moral dilemma?"], "extra": [None]})
    >>> frame.select(stable_id_expr([pl.col("prompt")])).item() == stable_id(frame["prompt"])
    True
    >>> got = frame.select(stable_id_expr([pl.col("prompt"), pl.col("extra")])).item()
    >>> got == stable_id(["What is a moral dilemma?", None])
    True

    ``leading`` are more fields before the others, each left out where it is null (where all
    are null, the id is that of ``fields`` alone); the text is joined once, in one pass:

    >>> two = pl.DataFrame({"prompt": ["Why?", "Why?"], "first": [None, "c"]})
    >>> ids = two.select(stable_id_expr([pl.col("prompt")], leading=[pl.col("first")])).to_series()
    >>> ids.to_list() == [stable_id(["Why?"]), stable_id(["c", "Why?"])]
    True
    """
    import polars_hash  # noqa: F401  (registers the .chash namespace)

    joined = pl.concat_str(
        [*leading, *(f.fill_null(NULL_MARKER) for f in fields)],
        separator=FIELD_SEPARATOR,
        ignore_nulls=True,
    )
    return joined.chash.sha2_256().str.slice(0, ID_LENGTH)
