"""What the generator writes: layout facts read from the schema, its rates (``text/base.yaml``)
and :class:`GeneratorConfig`, the knobs of one run."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import polars as pl
import yaml

from community_alignment import schema
from community_alignment.iw import AXES, country_positions

TEXT_DIR = Path(__file__).parent / "text"


@cache
def load_text(name: str) -> dict:
    """One data file of ``text/`` (``base`` or a language code), read once; not to be changed."""
    path = TEXT_DIR / f"{name}.yaml"
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=yaml.CSafeLoader)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: the generator has no text file for {name!r}") from None


# ---------------------------------------------------------------------------------------------
# Layout facts derived from the schema (one fact, one place: values come from schema/*.yaml).

LETTERS = [str(code).upper() for code in schema.codes("choice")]  # A B C D
CHOICE_RAW = [value["raw"] for value in schema.vocabulary("choice")["values"]]
END_OF_TEXT = schema.load("vocabularies")["response_junk"][0]
EMPTY_MARKER = next(m for m in schema.load("vocabularies")["missing_markers"] if m)
LANGUAGES = [str(code) for code in schema.codes("languages")]
COUNTRY_CODES = [str(code) for code in schema.codes("countries")]
COUNTRY_RAW = {v["code"]: v["raw"] for v in schema.vocabulary("countries")["values"]}
TRUE_RAW, FALSE_RAW = (
    next(v["raw"][0] for v in schema.vocabulary("booleans")["values"] if v["code"] is flag)
    for flag in (True, False)
)
WAVES = [int(w) for w in schema.codes("wave")]
TURN_PREFIXES = [prefix for _, prefix in schema.turn_prefixes()]
DEMOGRAPHICS = ["age", "gender", "education_level", "political", "ethnicity"]
LABELLER = "generator-truth"  # the labeller name in the labels file

# The generator's latent preferences: each country's (traditional_secular,
# survival_self_expression) position on the IW map, as shipped with the package (Integrated
# Values Surveys factor scores, community_alignment/data/iw_countries.csv). A candidate's pick
# probability grows with the dot product of its scores and these.
COUNTRY_IW_PREFERENCE = {
    row["iso2"]: (row[AXES[0]], row[AXES[1]])
    for row in country_positions().filter(pl.col("in_release")).iter_rows(named=True)
}

# The rates: distributions the generator draws from (see text/base.yaml for what each is).
RATES = load_text("base")["rates"]
COUNTRY_SHARES: dict[str, float] = RATES["country_shares"]
COUNTRY_LANGUAGE: dict[str, str] = RATES["country_language"]
INDIA_SECOND_LANGUAGE: str = RATES["india_second_language"]
POSITION_LOGITS: dict[str, list[float]] = RATES["position_logits"]
DEMOGRAPHIC_WEIGHTS: dict[str, list[float]] = RATES["demographic_weights"]
ETHNICITY_WEIGHTS: dict[str, dict[str, float]] = RATES["ethnicity_weights"]
SMALL_NUMBERS: list[int] = RATES["small_numbers"]
MINUTES: list[int] = RATES["minutes"]

SAMPLE_DIR = Path(__file__).parent.parent / "sample"
SAMPLE_FILES = {
    "data": "community_alignment_sample.csv",
    "labels": "iw_labels.csv",
    "truth": "truth.json",
}


@dataclass
class GeneratorConfig:
    """What to generate; the defaults give the real v1.1 file's rates."""

    conversations: int = 300
    seed: int = 0
    # share of present turns with prompt and candidates but no recorded choice ...
    missing_choice_rate: float = 0.007
    # ... of which this share is the conversation's last turn (the rest are earlier turns)
    missing_choice_last_share: float = 0.8
    # annotators: None scales 3,603 per 90,256 conversations (at least 5)
    annotators: int | None = None
    annotators_per_conversation: float = 3603 / 90256
    wave2_share: float = 0.125  # of annotators
    country_shares: dict[str, float] = field(default_factory=lambda: dict(COUNTRY_SHARES))
    india_hindi_share: float = 0.46  # of India's conversations
    india_bilingual_share: float = 0.06  # of Indian annotators with both hi and en rows
    turn_count_shares: tuple[float, ...] = (0.072, 0.472, 0.237, 0.219)  # 1, 2, 3, 4 turns
    pregenerated_share: float = 0.69
    conversations_per_pool_prompt: float = 12.0  # sizes each language's pregenerated pool
    prompt_popularity_exponent: float = 0.6  # Zipf exponent of the pool's popularity
    annotators_per_candidate_set: int = 10  # a pool prompt gets ceil(n / this) sets ...
    max_candidate_sets: int = 6  # ... at most this many
    balanced_share: float = 0.5  # in_balanced_subset: equal per country, this share in all
    explanation_rate: float = 0.446  # of comparisons
    end_of_text_rate: float = 0.03  # of candidates
    missing_demographics: dict[str, float] = field(
        default_factory=lambda: {
            "age": 0.040,
            "gender": 0.021,
            "education_level": 0.030,
            "political": 0.020,
            "ethnicity": 0.020,
        }
    )
    empty_marker_rate: float = 0.002  # of missing demographic answers written EMPTY STRING
    min_empty_markers: int = 1  # at least this many (when anything is missing)
    length_scale: float = 1.0  # shortens (< 1) or lengthens candidate texts
    # draws each word of a candidate's sentences at random from the language's words (about
    # half glued to a second), so that the text compresses about as real text does (zstd:
    # about 3x, against about 16x for the banks' sentences repeated word for word); for
    # benchmarks: the sentences no longer read
    random_words: bool = False
    iw_strength: float = 2.0  # weight of the country preference in the choice logit
    personal_iw_sd: float = 0.1  # per-annotator offset to the country preference
    longest_bonus: float = 0.55  # logit bonus of the longest candidate
    quality_weight: float = 0.3  # weight of a candidate's latent quality
    # Spellings of the real file not yet seen (see spellings.py); the defaults write ours.
    # changes to the responses cell's spelling, all cells (names of RESPONSES_SPELLINGS)
    responses_spelling: tuple[str, ...] = ()
    responses_shuffled_rate: float = 0.0  # of cells: blocks in another order (still agree)
    responses_missing_block_rate: float = 0.0  # of cells: one block left out (disagree)
    # of demographic answers (per annotator) and flag cells (per row): another spelling of
    # the same answer (case, spaces, apostrophe; TRUE / true for booleans)
    respelled_answer_rate: float = 0.0


SPELLING_FIELDS = (
    "responses_spelling", "responses_shuffled_rate", "responses_missing_block_rate",
    "respelled_answer_rate",
)  # fmt: skip
"""Options that change the file's spelling only; the truth names them only when they are set,
so that a file in our spelling comes with the same truth as before they existed."""


SAMPLE_CONFIG = GeneratorConfig(conversations=400, seed=0, annotators=72, length_scale=0.1)
"""The embedded sample: more annotators than linear scaling gives (about 5.6 conversations
each instead of 25) so that first prompts reach 10 annotators in several languages, and
short candidates so that the files stay under 3 MB."""
