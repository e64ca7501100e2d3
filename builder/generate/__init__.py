"""Write realistic raw Community Alignment data, deterministically from a seed.

The output is one CSV row per conversation in the exact raw (v1.1) layout: a header, then the
45 columns of ``schema.raw_column_names()`` in that order, written with Python's ``csv`` module
(minimal quoting, ``\\n`` line ends, UTF-8 without BOM). Rows are streamed to the file; only
small per-conversation metadata is planned in memory first.

Layout of one present turn ``{t}`` (first .. fourth):

* ``{t}_turn_prompt``: the user's message, in the conversation's language.
* ``{t}_turn_response_a`` .. ``_d``: the four candidates as shown; about 3% end with a
  literal ``<|end_of_text|>`` (the junk is part of the cell, the released text lacks it).
* ``{t}_turn_responses``: the four cells joined exactly as
  :data:`builder.responses_cell.FORMAT` says,
  i.e. ``"# Response A:\\n<a>\\n\\n# Response B:\\n<b>\\n\\n# Response C:\\n<c>\\n\\n"
  "# Response D:\\n<d>"`` (each ``<x>`` is the cell, junk included).
* ``{t}_turn_preferred_response``: ``response_a`` .. ``response_d``, or empty when no choice
  was recorded (then the turn is not a comparison and has no feedback).
* ``{t}_turn_feedback``: the annotator's explanation of the choice, or empty.

Turns after a conversation's last are empty cells. Demographics are fixed per annotator and
repeated on each of their rows; a missing answer is an empty cell, rarely the literal
``EMPTY STRING``.

How choices are made (the generator's latent truth): each candidate has a latent Inglehart-
Welzel pole and scores (see :func:`latent_scores`); the probability of picking a candidate is
a softmax over a position bias, a bonus for the longest candidate, a latent quality and the
dot product of the candidate's scores with the annotator's country preference
(:data:`COUNTRY_IW_PREFERENCE`, plus a small personal offset).

The options of :mod:`builder.generate.spellings` write the responses cell and the answers in
spellings of the real file not yet seen (the build must read them all); by default the file is
spelled as above.

The package: ``config`` (layout facts, rates and :class:`GeneratorConfig`), ``text`` (the text
banks, data files in ``text/``: ``base.yaml`` shared, one file per language), ``plan`` (who
writes what) and ``write`` (the rows and the truth).

``generate(path, config, labels_path=None)`` writes the file and returns the truth dict;
``python -m builder.generate --out FILE ...`` does the same from the shell, and
``python -m builder.generate --sample`` rewrites the embedded sample in ``builder/sample/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from builder.generate.config import (
    COUNTRY_IW_PREFERENCE,
    COUNTRY_LANGUAGE,
    DEMOGRAPHICS,
    EMPTY_MARKER,
    ETHNICITY_WEIGHTS,
    INDIA_SECOND_LANGUAGE,
    LABELLER,
    SAMPLE_CONFIG,
    SAMPLE_DIR,
    SAMPLE_FILES,
    GeneratorConfig,
)
from builder.generate.spellings import RESPONSES_SPELLINGS, responses_spelling
from builder.generate.text import BANKS
from builder.generate.write import generate, latent_scores, write_sample, write_truth

__all__ = [
    "BANKS", "COUNTRY_IW_PREFERENCE", "COUNTRY_LANGUAGE", "DEMOGRAPHICS", "EMPTY_MARKER",
    "ETHNICITY_WEIGHTS", "INDIA_SECOND_LANGUAGE", "LABELLER", "SAMPLE_CONFIG", "SAMPLE_DIR",
    "SAMPLE_FILES", "GeneratorConfig", "build_parser", "generate", "latent_scores", "main",
    "write_sample", "write_truth",
]  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m builder.generate",
        description="Write realistic raw Community Alignment data (deterministic from a seed).",
    )
    parser.add_argument("--out", type=Path, help="raw CSV to write")
    parser.add_argument("--conversations", type=int, default=GeneratorConfig.conversations)
    parser.add_argument("--seed", type=int, default=GeneratorConfig.seed)
    parser.add_argument("--annotators", type=int, help="default: 3,603 per 90,256 conversations")
    parser.add_argument(
        "--length-scale", type=float, default=1.0, help="shorten (<1) or lengthen candidates"
    )
    parser.add_argument(
        "--random-words",
        action="store_true",
        help="draw the words of candidates at random: text that compresses like real text",
    )
    parser.add_argument("--labels", type=Path, help="also write IW labels of every response")
    parser.add_argument("--truth", type=Path, help="also write the truth as JSON")
    parser.add_argument(
        "--sample", action="store_true", help=f"rewrite the embedded sample in {SAMPLE_DIR}"
    )
    spelling = parser.add_argument_group(
        "spellings of the real file not yet seen (default: the generator's own)"
    )
    spelling.add_argument(
        "--responses-spelling",
        type=lambda text: tuple(name.strip() for name in text.split(",") if name.strip()),
        default=(),
        metavar="NAME[,NAME...]",
        help="changes to the responses cell, applied together: "
        + "; ".join(f"{name}: {meaning}" for name, meaning in RESPONSES_SPELLINGS.items()),
    )
    spelling.add_argument(
        "--responses-shuffled-rate",
        type=float,
        default=0.0,
        help="share of responses cells with their blocks in another order",
    )
    spelling.add_argument(
        "--responses-missing-block-rate",
        type=float,
        default=0.0,
        help="share of responses cells with one block left out (they disagree with the columns)",
    )
    spelling.add_argument(
        "--respelled-answer-rate",
        type=float,
        default=0.0,
        help="share of demographic answers and flag cells written another way (case, spaces, "
        "apostrophe, TRUE/true)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # as passed on by a wrapper: python -m builder generate -- ...
        argv = argv[1:]
    args = parser.parse_args(argv)
    if args.sample:
        truth = write_sample()
        print(f"sample: {truth['conversations']} conversations in {SAMPLE_DIR}")
        return 0
    if args.out is None:
        parser.error("--out is required (or --sample)")
    config = GeneratorConfig(
        conversations=args.conversations,
        seed=args.seed,
        annotators=args.annotators,
        length_scale=args.length_scale,
        random_words=args.random_words,
        responses_spelling=args.responses_spelling,
        responses_shuffled_rate=args.responses_shuffled_rate,
        responses_missing_block_rate=args.responses_missing_block_rate,
        respelled_answer_rate=args.respelled_answer_rate,
    )
    try:
        responses_spelling(config.responses_spelling)
    except ValueError as error:
        parser.error(str(error))
    truth = generate(args.out, config, labels_path=args.labels)
    if args.truth:
        write_truth(truth, args.truth)
    print(
        f"{args.out}: {truth['conversations']} conversations, {truth['comparisons']} "
        f"comparisons, {truth['annotators']} annotators"
    )
    return 0
