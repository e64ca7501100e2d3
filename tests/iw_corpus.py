"""The hand-built corpus of the IW tests: responses with known scores, candidate sets, picks and
labels."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from community_alignment.hashing import response_key

# Scores (traditional_secular, survival_self_expression); t1 has a pole given, t2..t4 take theirs
# from the scores, t5 is never labelled.
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


def release_folder(root: Path, frame: pl.DataFrame) -> Path:
    for (country,), part in frame.partition_by("country", as_dict=True).items():
        folder = root / "data" / "comparisons" / "en"
        folder.mkdir(parents=True, exist_ok=True)
        part.write_parquet(folder / f"{country}-00000-of-00001.parquet")
    return root
