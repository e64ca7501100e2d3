"""The generator's plan: who writes which conversation, with how many turns and which first
prompt. Cheap per-conversation metadata, decided before any text so that prompt counts are
known."""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

import numpy as np

from builder.generate.config import (
    COUNTRY_CODES,
    COUNTRY_IW_PREFERENCE,
    COUNTRY_LANGUAGE,
    DEMOGRAPHIC_WEIGHTS,
    DEMOGRAPHICS,
    EMPTY_MARKER,
    ETHNICITY_WEIGHTS,
    INDIA_SECOND_LANGUAGE,
    LANGUAGES,
    WAVES,
    GeneratorConfig,
)
from builder.generate.text import BANKS, Text
from community_alignment import schema


def derived_seed(*parts) -> int:
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _largest_remainder(total: int, weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


@dataclass
class Plan:
    annotator_ids: list[str]
    annotator_country: list[str]
    annotator_wave: list[int]
    annotator_demographics: list[dict[str, str]]
    annotator_preference: list[tuple[float, float]]
    annotator_explains: list[float]
    conv_id: np.ndarray
    conv_annotator: np.ndarray
    conv_language: np.ndarray  # index into LANGUAGES
    conv_turns: np.ndarray
    conv_pregenerated: np.ndarray
    conv_pool_prompt: np.ndarray  # index into the language's pool, -1 when written
    conv_candidate_set: np.ndarray
    conv_balanced: np.ndarray
    conv_balanced_10: np.ndarray
    conv_missing_turn: np.ndarray  # 1-based turn without a recorded choice, 0 for none
    pools: dict[str, list[tuple[str, str]]]  # language -> [(prompt, about)]
    pool_annotators: dict[str, np.ndarray]  # language -> distinct annotators per pool prompt


def _annotator_counts(rng: np.random.Generator, annotators: int, conversations: int):
    """Conversations per annotator: most do about a full quota, a minority drop out early.

    The median is slightly above the mean (26 vs 25 in the real file)."""
    dropout = rng.random(annotators) < 0.2
    weights = np.where(
        dropout, rng.uniform(0.04, 0.95, annotators), rng.normal(1.14, 0.28, annotators)
    ).clip(0.02)
    return 1 + _largest_remainder(conversations - annotators, weights)


def _demographics(rng: random.Random, country: str) -> dict[str, str]:
    answers = {}
    for name, weights in DEMOGRAPHIC_WEIGHTS.items():
        values = schema.codes(f"annotator_{name}")
        answers[name] = str(rng.choices(values, weights=weights)[0])
    aliases = schema.vocabulary("annotator_political").get("aliases", {})
    for variant, canonical in aliases.items():  # the raw file uses both spellings
        if answers["political"] == canonical and rng.random() < 0.5:
            answers["political"] = variant
    ethnicity = ETHNICITY_WEIGHTS[country]
    answers["ethnicity"] = rng.choices(list(ethnicity), weights=list(ethnicity.values()))[0]
    return answers


def _check_vocabularies() -> None:
    for name, weights in DEMOGRAPHIC_WEIGHTS.items():
        if len(schema.codes(f"annotator_{name}")) != len(weights):
            raise ValueError(
                f"generator weights for annotator_{name} (text/base.yaml) do not match "
                "schema/vocabularies"
            )
    allowed = set(schema.codes("annotator_ethnicity"))
    for country, weights in ETHNICITY_WEIGHTS.items():
        if not set(weights) <= allowed or country not in COUNTRY_CODES:
            raise ValueError(f"generator ethnicity answers for {country} are not in the schema")
    if set(COUNTRY_IW_PREFERENCE) != set(COUNTRY_CODES) or set(BANKS) != set(LANGUAGES):
        raise ValueError("generator countries or languages do not match schema/vocabularies")


def make_plan(config: GeneratorConfig) -> Plan:
    _check_vocabularies()
    total = config.conversations
    if total < 1:
        raise ValueError("conversations must be at least 1")
    rng = np.random.default_rng(derived_seed(config.seed, "plan"))
    text_rng = random.Random(derived_seed(config.seed, "annotators"))

    countries = [c for c in COUNTRY_CODES if config.country_shares.get(c, 0) > 0]
    shares = [config.country_shares[c] for c in countries]
    per_country = _largest_remainder(total, shares)
    wanted = config.annotators or max(5, round(total * config.annotators_per_conversation))
    annotators_per_country = np.minimum(
        np.maximum(_largest_remainder(min(wanted, total), shares), per_country > 0), per_country
    )

    # annotators: country, conversation count, language(s), demographics
    ann_country: list[str] = []
    ann_counts: list[int] = []
    for country, n_conv, n_ann in zip(countries, per_country, annotators_per_country, strict=True):
        if n_ann == 0:
            continue
        ann_country += [country] * int(n_ann)
        ann_counts += _annotator_counts(rng, int(n_ann), int(n_conv)).tolist()
    n_ann = len(ann_country)
    ann_language = [COUNTRY_LANGUAGE[c] for c in ann_country]
    indian = [a for a in range(n_ann) if ann_country[a] == "in"]
    india_total = sum(ann_counts[a] for a in indian)
    hindi_target = config.india_hindi_share * india_total
    hindi_total = 0
    for a in rng.permutation(indian).tolist():
        if hindi_total + ann_counts[a] / 2 <= hindi_target:
            ann_language[a] = INDIA_SECOND_LANGUAGE
            hindi_total += ann_counts[a]
    multi = [a for a in indian if ann_counts[a] >= 2]
    n_bilingual = min(len(multi), round(config.india_bilingual_share * len(indian)))
    bilingual = sorted(rng.choice(multi, size=n_bilingual, replace=False).tolist()) if multi else []

    ids: set[int] = set()
    while len(ids) < n_ann:
        ids.update(rng.integers(10**13, 10**14, size=n_ann - len(ids)).tolist())
    annotator_ids = [str(i) for i in sorted(ids)]
    annotator_ids = [annotator_ids[i] for i in rng.permutation(n_ann)]
    waves = np.full(n_ann, WAVES[0])
    waves[rng.choice(n_ann, size=round(config.wave2_share * n_ann), replace=False)] = WAVES[-1]

    demographics = [_demographics(text_rng, country) for country in ann_country]
    missing_cells = []
    for name in DEMOGRAPHICS:  # exactly the configured share of annotators per question
        share = config.missing_demographics.get(name, 0.0)
        for a in sorted(text_rng.sample(range(n_ann), round(share * n_ann))):
            demographics[a][name] = ""
            missing_cells.append((a, name))
    markers = [cell for cell in missing_cells if text_rng.random() < config.empty_marker_rate]
    if len(markers) < config.min_empty_markers and missing_cells:
        markers = text_rng.sample(missing_cells, min(config.min_empty_markers, len(missing_cells)))
    for a, name in markers:
        demographics[a][name] = EMPTY_MARKER
    offsets = rng.normal(0, config.personal_iw_sd, (n_ann, 2))
    preference = [
        (COUNTRY_IW_PREFERENCE[c][0] + float(dx), COUNTRY_IW_PREFERENCE[c][1] + float(dy))
        for c, (dx, dy) in zip(ann_country, offsets, strict=True)
    ]
    explains = rng.beta(0.9, 0.9 * (1 - config.explanation_rate) / config.explanation_rate, n_ann)

    # conversations, grouped by annotator for now
    conv_annotator = np.repeat(np.arange(n_ann), ann_counts)
    language_index = {lang: i for i, lang in enumerate(LANGUAGES)}
    conv_language = np.array([language_index[ann_language[a]] for a in conv_annotator], np.int8)
    starts = np.concatenate([[0], np.cumsum(ann_counts)[:-1]])
    for a in bilingual:
        n = ann_counts[a]
        k = min(n - 1, max(1, round(n * rng.uniform(0.1, 0.4))))
        other = "en" if ann_language[a] == INDIA_SECOND_LANGUAGE else INDIA_SECOND_LANGUAGE
        picked = starts[a] + rng.choice(n, size=k, replace=False)
        conv_language[picked] = language_index[other]
    turn_shares = np.asarray(config.turn_count_shares) / sum(config.turn_count_shares)
    conv_turns = (rng.choice(len(turn_shares), size=total, p=turn_shares) + 1).astype(np.int8)
    conv_pregenerated = rng.random(total) < config.pregenerated_share

    # pregenerated first prompts: a per-language pool with Zipf popularity, no repeats per
    # annotator; candidate sets per prompt grow with its number of annotators
    conv_pool_prompt = np.full(total, -1, np.int64)
    conv_candidate_set = np.zeros(total, np.int64)
    pools: dict[str, list[tuple[str, str]]] = {}
    pool_annotators: dict[str, np.ndarray] = {}
    for lang in LANGUAGES:
        mask = conv_pregenerated & (conv_language == language_index[lang])
        if not mask.any():
            continue
        per_annotator = np.bincount(conv_annotator[mask], minlength=n_ann)
        size = max(
            math.ceil(mask.sum() / config.conversations_per_pool_prompt),
            int(per_annotator.max()),
            len(BANKS[lang]["real_prompts"]),
        )
        pools[lang] = _pool(lang, size, config)
        weights = 1.0 / np.arange(1, size + 1) ** config.prompt_popularity_exponent
        weights /= weights.sum()
        positions = np.flatnonzero(mask)
        owners = conv_annotator[positions]
        for a in np.unique(owners):
            mine = positions[owners == a]
            conv_pool_prompt[mine] = rng.choice(size, size=len(mine), replace=False, p=weights)
        counts = np.bincount(conv_pool_prompt[positions], minlength=size)
        pool_annotators[lang] = counts
        sets = np.clip(
            np.ceil(counts / config.annotators_per_candidate_set), 1, config.max_candidate_sets
        ).astype(np.int64)
        conv_candidate_set[positions] = (
            rng.random(len(positions)) * sets[conv_pool_prompt[positions]]
        ).astype(np.int64)

    conv_balanced_10 = np.zeros(total, bool)
    for lang, counts in pool_annotators.items():
        mask = (conv_pool_prompt >= 0) & (conv_language == language_index[lang])
        conv_balanced_10[mask] = counts[conv_pool_prompt[mask]] >= 10

    # balanced subset: the same number of conversations from every country
    conv_country = np.array([ann_country[a] for a in conv_annotator])
    conv_balanced = np.zeros(total, bool)
    per = min(round(total * config.balanced_share / len(countries)), int(per_country.min()))
    for country in countries:
        members = np.flatnonzero(conv_country == country)
        conv_balanced[rng.choice(members, size=min(per, len(members)), replace=False)] = True

    # turns without a recorded choice: mostly the last turn, some earlier ones
    conv_missing_turn = np.zeros(total, np.int8)
    missing = round(config.missing_choice_rate * int(conv_turns.sum()))
    in_middle = min(
        int((conv_turns > 1).sum()), missing - round(missing * config.missing_choice_last_share)
    )
    middle = rng.choice(np.flatnonzero(conv_turns > 1), size=in_middle, replace=False)
    conv_missing_turn[middle] = [rng.integers(1, conv_turns[c]) for c in middle]
    free = np.flatnonzero(conv_missing_turn == 0)
    last = rng.choice(free, size=min(len(free), missing - in_middle), replace=False)
    conv_missing_turn[last] = conv_turns[last]

    # row order: shuffled; ids are distinct 6-7 digit integers, not in row order
    order = rng.permutation(total)
    conv_id = 700_000 + rng.choice(4 * total, size=total, replace=False)
    return Plan(
        annotator_ids=annotator_ids,
        annotator_country=ann_country,
        annotator_wave=[int(w) for w in waves],
        annotator_demographics=demographics,
        annotator_preference=preference,
        annotator_explains=explains.tolist(),
        conv_id=conv_id,
        conv_annotator=conv_annotator[order],
        conv_language=conv_language[order],
        conv_turns=conv_turns[order],
        conv_pregenerated=conv_pregenerated[order],
        conv_pool_prompt=conv_pool_prompt[order],
        conv_candidate_set=conv_candidate_set[order],
        conv_balanced=conv_balanced[order],
        conv_balanced_10=conv_balanced_10[order],
        conv_missing_turn=conv_missing_turn[order],
        pools=pools,
        pool_annotators=pool_annotators,
    )


def _pool(language: str, size: int, config: GeneratorConfig) -> list[tuple[str, str]]:
    """The language's pregenerated first prompts: the real ones first, then distinct others."""
    rng = random.Random(derived_seed(config.seed, "pool", language))
    text = Text(language, config.length_scale)
    pool = list(BANKS[language]["real_prompts"])
    seen = {prompt for prompt, _ in pool}
    attempts = 0
    while len(pool) < size:
        prompt, about = text.first_prompt(rng, written=False)
        attempts += 1
        if prompt not in seen:
            seen.add(prompt)
            pool.append((prompt, about))
        elif attempts > 50 * size:
            raise ValueError(f"cannot make {size} distinct {language} pool prompts")
    return pool
