"""Writing: stream one raw row per conversation from the plan, count the truth on the way; the
choice model (:func:`latent_scores`, a softmax over position, length, quality and values)."""

from __future__ import annotations

import csv
import json
import math
import random
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from builder.generate.config import (
    CHOICE_RAW,
    COUNTRY_IW_PREFERENCE,
    COUNTRY_RAW,
    DEMOGRAPHICS,
    END_OF_TEXT,
    FALSE_RAW,
    LABELLER,
    LANGUAGES,
    POSITION_LOGITS,
    SAMPLE_CONFIG,
    SAMPLE_DIR,
    SAMPLE_FILES,
    SPELLING_FIELDS,
    TRUE_RAW,
    TURN_PREFIXES,
    GeneratorConfig,
)
from builder.generate.plan import Plan, derived_seed, make_plan
from builder.generate.spellings import Variants
from builder.generate.text import Text
from community_alignment import schema
from community_alignment.hashing import response_key
from community_alignment.iw import LABEL_COLUMNS

# ---------------------------------------------------------------------------------------------
# Latent values of a candidate, derived from its released text so that equal texts agree.


def latent_scores(key: str, pole: str) -> tuple[float, float, float]:
    """(traditional_secular, survival_self_expression, quality) of a candidate.

    The pole's axis gets a score of magnitude 0.2-1 with the pole's sign; the other axis a
    smaller one (under 0.8 of it), so the pole is the dominant direction. Quality (mean 0,
    sd 1) is what any annotator likes regardless of values.
    """
    bits = int(key, 16)
    u1 = (bits & 0xFFFFF) / 0x100000
    u2 = ((bits >> 20) & 0xFFFFF) / 0x100000
    u3 = ((bits >> 40) & 0xFFFFF) / 0x100000
    main = round(0.2 + 0.8 * u1, 4)
    other = round((2 * u2 - 1) * 0.8 * main, 4)
    quality = (u3 - 0.5) * 3.4641
    if pole == "traditional":
        return -main, other, quality
    if pole == "secular-rational":
        return main, other, quality
    if pole == "survival":
        return other, -main, quality
    return other, main, quality


def _choose(
    rng: random.Random,
    logits_base: tuple[float, ...],
    scores: list[tuple[float, float, float]],
    lengths: list[int],
    preference: tuple[float, float],
    config: GeneratorConfig,
) -> int:
    longest = max(range(len(lengths)), key=lengths.__getitem__)
    logits = [
        base
        + (config.longest_bonus if i == longest else 0.0)
        + config.quality_weight * quality
        + config.iw_strength * (ts * preference[0] + sse * preference[1])
        for i, (base, (ts, sse, quality)) in enumerate(zip(logits_base, scores, strict=True))
    ]
    top = max(logits)
    weights = [math.exp(v - top) for v in logits]
    pick = rng.random() * sum(weights)
    for index, weight in enumerate(weights):
        pick -= weight
        if pick < 0:
            return index
    return len(weights) - 1


# ---------------------------------------------------------------------------------------------
# Writing: stream one row per conversation, count the truth on the way.


def _count(counter: Counter) -> dict[str, int]:
    return {str(key): int(value) for key, value in sorted(counter.items())}


def generate(
    path: str | Path, config: GeneratorConfig | None = None, labels_path: str | Path | None = None
) -> dict:
    """Write the raw CSV (and, with ``labels_path``, IW labels); return the truth dict."""
    config = config or GeneratorConfig()
    plan = make_plan(config)
    texts = {lang: Text(lang, config.length_scale, config.random_words) for lang in LANGUAGES}
    rng = random.Random(derived_seed(config.seed, "text"))
    seen_prompts = {prompt for pool in plan.pools.values() for prompt, _ in pool}
    seen_keys: set[str] = set()
    variants = Variants(config, derived_seed(config.seed, "spellings"))
    annotator_cells = [
        [plan.annotator_ids[a], COUNTRY_RAW[plan.annotator_country[a]]]
        + [variants.answer(plan.annotator_demographics[a][name]) for name in DEMOGRAPHICS]
        for a in range(len(plan.annotator_ids))
    ]
    empty_turn = [""] * 8
    counts = {name: Counter() for name in (
        "length", "country", "language", "wave", "comparisons_by_turn", "comparisons_by_choice",
        "comparisons_by_country", "comparisons_by_language", "annotator_languages",
    )}  # fmt: skip
    languages_of: dict[int, set[str]] = {}
    totals = Counter()

    labels_handle = open(labels_path, "w", encoding="utf-8", newline="") if labels_path else None
    try:
        labels = csv.writer(labels_handle, lineterminator="\n") if labels_handle else None
        if labels:
            labels.writerow(LABEL_COLUMNS)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            writer.writerow(schema.raw_column_names())
            for c in range(config.conversations):
                a = int(plan.conv_annotator[c])
                lang = LANGUAGES[plan.conv_language[c]]
                country = plan.annotator_country[a]
                text = texts[lang]
                n_turns = int(plan.conv_turns[c])
                missing_turn = int(plan.conv_missing_turn[c])
                languages_of.setdefault(a, set()).add(lang)
                row = [str(plan.conv_id[c]), plan.annotator_ids[a], lang] + annotator_cells[a][1:]
                about = ""
                gap = False
                for turn in range(1, n_turns + 1):
                    if turn == 1:
                        prompt_index = int(plan.conv_pool_prompt[c])
                        if prompt_index >= 0:
                            prompt, about = plan.pools[lang][prompt_index]
                            unit_rng = random.Random(derived_seed(
                                config.seed, "unit", lang, prompt_index,
                                int(plan.conv_candidate_set[c]),
                            ))  # fmt: skip
                            cells, released, poles = text.candidate_set(
                                unit_rng, about, config.end_of_text_rate
                            )
                        else:
                            prompt, about = text.first_prompt(rng, written=True)
                            while prompt in seen_prompts:
                                prompt, about = text.first_prompt(rng, written=True)
                            seen_prompts.add(prompt)
                            cells, released, poles = text.candidate_set(
                                rng, about, config.end_of_text_rate
                            )
                    else:
                        prompt = text.followup(rng, about)
                        cells, released, poles = text.candidate_set(
                            rng, about, config.end_of_text_rate
                        )
                    scores = []
                    for released_text, pole in zip(released, poles, strict=True):
                        key = response_key(released_text)
                        ts, sse, quality = latent_scores(key, pole)
                        scores.append((ts, sse, quality))
                        if key not in seen_keys:
                            seen_keys.add(key)
                            if labels:
                                labels.writerow(
                                    [key, pole, f"{ts + 0.0:.4f}", f"{sse + 0.0:.4f}", LABELLER]
                                )
                    totals["responses_with_end_of_text"] += sum(
                        cell.endswith(END_OF_TEXT) for cell in cells
                    )
                    choice_cell = feedback = ""
                    if turn == missing_turn:
                        totals["turns_without_choice"] += 1
                        totals["turns_without_choice_before_last"] += turn < n_turns
                        gap = True
                    else:
                        chosen = _choose(
                            rng,
                            POSITION_LOGITS["first" if turn == 1 else "later"],
                            scores,
                            [len(t) for t in released],
                            plan.annotator_preference[a],
                            config,
                        )
                        choice_cell = CHOICE_RAW[chosen]
                        if rng.random() < plan.annotator_explains[a]:
                            feedback = text.feedback(rng, chosen)
                            totals["explanations"] += 1
                        totals["comparisons"] += 1
                        totals["comparisons_with_incomplete_context"] += gap
                        counts["comparisons_by_turn"][turn] += 1
                        counts["comparisons_by_choice"][schema.codes("choice")[chosen]] += 1
                        counts["comparisons_by_country"][country] += 1
                        counts["comparisons_by_language"][lang] += 1
                    row += [
                        prompt,
                        variants.responses(cells, turn),
                        *cells,
                        choice_cell,
                        feedback,
                    ]
                    totals["turns"] += 1
                for _ in range(n_turns, len(TURN_PREFIXES)):
                    row += empty_turn
                row += [
                    *(
                        variants.answer(TRUE_RAW if flag[c] else FALSE_RAW)
                        for flag in (
                            plan.conv_pregenerated,
                            plan.conv_balanced,
                            plan.conv_balanced_10,
                        )
                    ),
                    str(plan.annotator_wave[a]),
                ]
                writer.writerow(row)
                counts["length"][n_turns] += 1
                counts["country"][country] += 1
                counts["language"][lang] += 1
                counts["wave"][plan.annotator_wave[a]] += 1
    finally:
        if labels_handle:
            labels_handle.close()

    truth = _truth(config, plan, counts, totals, languages_of)
    truth["distinct_responses"] = len(seen_keys)
    truth |= variants.truth()
    return truth


def _truth(config, plan: Plan, counts, totals, languages_of) -> dict:
    n_ann = len(plan.annotator_ids)
    conversations_of = Counter(plan.conv_annotator.tolist())
    units = Counter(
        (int(lang), int(prompt), int(unit))
        for lang, prompt, unit in zip(
            plan.conv_language, plan.conv_pool_prompt, plan.conv_candidate_set, strict=True
        )
        if prompt >= 0
    )

    def answer(value: str) -> str | None:
        return None if value in schema.load("vocabularies")["missing_markers"] else value

    detail = {
        plan.annotator_ids[a]: {
            "country": plan.annotator_country[a],
            "country_raw": COUNTRY_RAW[plan.annotator_country[a]],
            "wave": plan.annotator_wave[a],
            "languages": sorted(languages_of.get(a, ())),
            "conversations": conversations_of[a],
            **{name: answer(plan.annotator_demographics[a][name]) for name in DEMOGRAPHICS},
        }
        for a in range(n_ann)
    }
    return {
        "generator": {
            "config": {
                name: setting
                for name, setting in asdict(config).items()
                if name not in SPELLING_FIELDS or setting != getattr(GeneratorConfig, name)
            },
            "iw_country_preference": {k: list(v) for k, v in COUNTRY_IW_PREFERENCE.items()},
            "position_logits": {k: list(v) for k, v in POSITION_LOGITS.items()},
        },
        "conversations": config.conversations,
        "turns": totals["turns"],
        "comparisons": totals["comparisons"],
        "comparisons_by_turn": _count(counts["comparisons_by_turn"]),
        "comparisons_by_choice": _count(counts["comparisons_by_choice"]),
        "comparisons_by_country": _count(counts["comparisons_by_country"]),
        "comparisons_by_language": _count(counts["comparisons_by_language"]),
        "comparisons_with_incomplete_context": totals["comparisons_with_incomplete_context"],
        "conversations_by_length": _count(counts["length"]),
        "conversations_by_country": _count(counts["country"]),
        "conversations_by_language": _count(counts["language"]),
        "conversations_by_wave": _count(counts["wave"]),
        "annotators": n_ann,
        "annotators_by_country": _count(Counter(plan.annotator_country)),
        "annotators_by_wave": _count(Counter(plan.annotator_wave)),
        "explanations": totals["explanations"],
        "turns_without_choice": totals["turns_without_choice"],
        "turns_without_choice_before_last": totals["turns_without_choice_before_last"],
        "responses_with_end_of_text": totals["responses_with_end_of_text"],
        "pregenerated_conversations": int(plan.conv_pregenerated.sum()),
        "balanced_conversations": int(plan.conv_balanced.sum()),
        "balanced_10_conversations": int(plan.conv_balanced_10.sum()),
        "first_prompts_with_10_annotators": int(
            sum((counts_ >= 10).sum() for counts_ in plan.pool_annotators.values())
        ),
        "shared_first_turn_units": sum(1 for n in units.values() if n >= 2),
        "annotators_detail": detail,
    }


def write_truth(truth: dict, path: str | Path) -> None:
    """The truth dict as JSON with sorted keys (UTF-8, readable)."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        json.dump(truth, handle, sort_keys=True, indent=1, ensure_ascii=False)
        handle.write("\n")


def write_sample(
    directory: str | Path = SAMPLE_DIR, config: GeneratorConfig = SAMPLE_CONFIG
) -> dict:
    """(Re)write the embedded sample: raw CSV, IW labels and truth."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    truth = generate(
        directory / SAMPLE_FILES["data"], config, labels_path=directory / SAMPLE_FILES["labels"]
    )
    write_truth(truth, directory / SAMPLE_FILES["truth"])
    return truth
