"""The raw-data generator: layout, determinism, truth, labels and the embedded sample."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import replace

import pytest

from builder import generate as gen
from builder import responses_cell
from community_alignment import schema
from community_alignment.hashing import response_key
from community_alignment.iw import LABEL_COLUMNS

csv.field_size_limit(1 << 30)
PREFIXES = [prefix for _, prefix in schema.turn_prefixes()]
LETTERS = [str(code) for code in schema.codes("choice")]
COUNTRY_CODE = {v["raw"]: v["code"] for v in schema.vocabulary("countries")["values"]}
MISSING = schema.load("vocabularies")["missing_markers"]
END = schema.load("vocabularies")["response_junk"][0]
DEMOGRAPHIC_COLUMNS = [f"annotator_{name}" for name in gen.DEMOGRAPHICS]
SMALL = gen.GeneratorConfig(conversations=300, seed=7)


def read_rows(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def present_turns(row):
    """(number, prefix) of the turns a row has, by its prompt cell."""
    return [(n, p) for n, p in enumerate(PREFIXES, start=1) if row[f"{p}_turn_prompt"]]


def released(cell: str) -> str:
    return unicodedata.normalize("NFC", cell.removesuffix(END))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A 300-conversation file with labels, its rows and its truth."""
    folder = tmp_path_factory.mktemp("generated")
    truth = gen.generate(folder / "raw.csv", SMALL, labels_path=folder / "labels.csv")
    return {
        "path": folder / "raw.csv",
        "rows": read_rows(folder / "raw.csv"),
        "labels": read_rows(folder / "labels.csv"),
        "truth": truth,
    }


@pytest.fixture(scope="module")
def sample():
    """The embedded sample files."""
    folder = gen.SAMPLE_DIR
    return {
        "rows": read_rows(folder / gen.SAMPLE_FILES["data"]),
        "labels": read_rows(folder / gen.SAMPLE_FILES["labels"]),
        "truth": json.loads((folder / gen.SAMPLE_FILES["truth"]).read_text(encoding="utf-8")),
    }


def test_header_is_the_raw_column_names(small):
    with open(small["path"], encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == schema.raw_column_names()


def test_file_parses_back_to_one_record_of_45_fields_per_conversation(small):
    with open(small["path"], encoding="utf-8", newline="") as handle:
        records = list(csv.reader(handle))[1:]
    assert len(records) == SMALL.conversations
    assert {len(record) for record in records} == {len(schema.raw_column_names())}


def test_csv_roundtrip_keeps_commas_quotes_and_newlines(small):
    data = small["path"].read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
    with open(small["path"], encoding="utf-8", newline="") as handle:
        records = list(csv.reader(handle))
    cells = [cell for record in records for cell in record]
    for character in (",", '"', "\n"):
        assert any(character in cell for cell in cells), character
    rewritten = io.StringIO(newline="")
    csv.writer(rewritten, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerows(records)
    assert rewritten.getvalue().encode("utf-8") == data


def test_same_seed_and_config_give_identical_bytes(tmp_path):
    config = replace(SMALL, conversations=60)
    gen.generate(tmp_path / "one.csv", config, labels_path=tmp_path / "one_labels.csv")
    gen.generate(tmp_path / "two.csv", config, labels_path=tmp_path / "two_labels.csv")
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    assert (tmp_path / "one_labels.csv").read_bytes() == (tmp_path / "two_labels.csv").read_bytes()


def test_different_seed_gives_a_different_file(tmp_path):
    gen.generate(tmp_path / "one.csv", replace(SMALL, conversations=60, seed=1))
    gen.generate(tmp_path / "two.csv", replace(SMALL, conversations=60, seed=2))
    assert (tmp_path / "one.csv").read_bytes() != (tmp_path / "two.csv").read_bytes()


def test_truth_comparison_counts_equal_counts_from_the_csv(small):
    by_turn, by_country, by_language, by_choice = Counter(), Counter(), Counter(), Counter()
    explanations = without_choice = 0
    for row in small["rows"]:
        for number, prefix in present_turns(row):
            choice = row[f"{prefix}_turn_preferred_response"]
            if not choice:
                without_choice += 1
                continue
            by_turn[str(number)] += 1
            by_country[COUNTRY_CODE[row["annotator_country"]]] += 1
            by_language[row["assigned_lang"]] += 1
            by_choice[choice.removeprefix("response_")] += 1
            explanations += bool(row[f"{prefix}_turn_feedback"])
    truth = small["truth"]
    assert truth["comparisons"] == sum(by_turn.values())
    assert truth["comparisons_by_turn"] == dict(by_turn)
    assert truth["comparisons_by_country"] == dict(by_country)
    assert truth["comparisons_by_language"] == dict(by_language)
    assert truth["comparisons_by_choice"] == dict(by_choice)
    assert truth["explanations"] == explanations
    assert truth["turns_without_choice"] == without_choice


def test_truth_conversation_counts_equal_counts_from_the_csv(small):
    rows, truth = small["rows"], small["truth"]
    assert truth["conversations"] == len(rows)
    lengths = Counter(str(len(present_turns(row))) for row in rows)
    assert truth["conversations_by_length"] == dict(lengths)
    countries = Counter(COUNTRY_CODE[row["annotator_country"]] for row in rows)
    assert truth["conversations_by_country"] == dict(countries)
    assert truth["conversations_by_language"] == dict(Counter(r["assigned_lang"] for r in rows))
    pregenerated = sum(row["is_pregenerated_first_prompt"] == "True" for row in rows)
    assert truth["pregenerated_conversations"] == pregenerated
    assert truth["annotators"] == len({row["annotator_id"] for row in rows})
    assert len({row["conversation_id"] for row in rows}) == len(rows)


def test_every_annotator_has_one_country_wave_and_identical_demographics(small):
    seen = defaultdict(set)
    for row in small["rows"]:
        fixed = ("annotator_country", "wave", *DEMOGRAPHIC_COLUMNS)
        seen[row["annotator_id"]].add(tuple(row[column] for column in fixed))
    assert all(len(values) == 1 for values in seen.values())
    assert all(re.fullmatch(r"[1-9]\d{13}", annotator) for annotator in seen)


def test_truth_annotator_detail_matches_the_rows(small):
    detail = small["truth"]["annotators_detail"]
    for row in small["rows"]:
        expected = detail[row["annotator_id"]]
        assert COUNTRY_CODE[row["annotator_country"]] == expected["country"]
        assert int(row["wave"]) == expected["wave"]
        for name in gen.DEMOGRAPHICS:
            value = row[f"annotator_{name}"]
            assert (None if value in MISSING else value) == expected[name]


def test_ethnicity_answers_are_country_appropriate(sample):
    india_only = {"Indo-Aryan", "Dravidian"}
    for row in sample["rows"]:
        answer = row["annotator_ethnicity"]
        if answer in MISSING:
            continue
        allowed = set(gen.ETHNICITY_WEIGHTS[COUNTRY_CODE[row["annotator_country"]]])
        assert answer in allowed
        assert (answer in india_only) <= (row["annotator_country"] == "india")


def test_languages_follow_the_country_and_india_has_hindi_and_english(small):
    languages = defaultdict(set)
    for row in small["rows"]:
        languages[row["annotator_country"]].add(row["assigned_lang"])
    expected_india = {"en", gen.INDIA_SECOND_LANGUAGE}
    assert languages.pop("india") == expected_india
    for country, seen in languages.items():
        assert seen == {gen.COUNTRY_LANGUAGE[COUNTRY_CODE[country]]}


def test_turns_are_contiguous_complete_and_never_explained_without_a_choice(small):
    for row in small["rows"]:
        numbers = [number for number, _ in present_turns(row)]
        assert numbers == list(range(1, len(numbers) + 1))
        for number, prefix in enumerate(PREFIXES, start=1):
            cells = [row[f"{prefix}_turn_{field}"] for field in ("prompt", "responses")]
            cells += [row[f"{prefix}_turn_response_{letter}"] for letter in LETTERS]
            if number in numbers:
                assert all(cells)
                if not row[f"{prefix}_turn_preferred_response"]:
                    assert not row[f"{prefix}_turn_feedback"]
            else:
                assert not any(cells) and not row[f"{prefix}_turn_preferred_response"]


def test_responses_cell_joins_the_four_responses_in_the_documented_format(small):
    for row in small["rows"]:
        for _, prefix in present_turns(row):
            texts = [row[f"{prefix}_turn_response_{letter}"] for letter in LETTERS]
            expected = "\n\n".join(
                f"# Response {letter.upper()}:\n{text}"
                for letter, text in zip(LETTERS, texts, strict=True)
            )
            assert row[f"{prefix}_turn_responses"] == expected == responses_cell.join(texts)


def test_some_candidates_end_with_end_of_text_junk(small):
    cells = [
        row[f"{prefix}_turn_response_{letter}"]
        for row in small["rows"]
        for _, prefix in present_turns(row)
        for letter in LETTERS
    ]
    junk = sum(cell.endswith(END) for cell in cells)
    assert junk == small["truth"]["responses_with_end_of_text"]
    assert 0.01 < junk / len(cells) < 0.06


def test_balanced_subset_10_flags_first_prompts_with_ten_annotators(sample):
    annotators = defaultdict(set)
    for row in sample["rows"]:
        annotators[row["first_turn_prompt"]].add(row["annotator_id"])
    for row in sample["rows"]:
        shared = len(annotators[row["first_turn_prompt"]]) >= 10
        assert (row["in_balanced_subset_10"] == "True") == shared
    popular = sum(len(people) >= 10 for people in annotators.values())
    assert sample["truth"]["first_prompts_with_10_annotators"] == popular


def test_sample_has_prompts_with_ten_annotators_in_several_languages(sample):
    annotators = defaultdict(set)
    for row in sample["rows"]:
        annotators[(row["assigned_lang"], row["first_turn_prompt"])].add(row["annotator_id"])
    languages = {language for (language, _), people in annotators.items() if len(people) >= 10}
    assert len(languages) >= 2


def test_pregenerated_first_turns_are_shared_units_and_written_ones_are_unique(small):
    units, written = defaultdict(set), Counter()
    for row in small["rows"]:
        candidates = tuple(row[f"first_turn_response_{letter}"] for letter in LETTERS)
        if row["is_pregenerated_first_prompt"] == "True":
            units[(row["first_turn_prompt"], candidates)].add(row["annotator_id"])
        else:
            written[row["first_turn_prompt"]] += 1
            units[(row["first_turn_prompt"], candidates)].add("written")
    shared = [unit for unit, people in units.items() if len(people) >= 2]
    assert len(shared) >= 5 and small["truth"]["shared_first_turn_units"] == len(shared)
    assert max(written.values()) == 1
    pregenerated_prompts = {prompt for prompt, _ in units if prompt not in written}
    assert not pregenerated_prompts & set(written)


def test_missing_choices_fall_on_last_and_earlier_turns(tmp_path):
    config = replace(SMALL, conversations=200, missing_choice_rate=0.1)
    truth = gen.generate(tmp_path / "raw.csv", config)
    before_last = incomplete_context = 0
    for row in read_rows(tmp_path / "raw.csv"):
        turns = present_turns(row)
        gap = False
        for number, prefix in turns:
            if not row[f"{prefix}_turn_preferred_response"]:
                before_last += number < len(turns)
                gap = True
            else:
                incomplete_context += gap
    assert before_last > 0 and incomplete_context > 0
    assert truth["turns_without_choice_before_last"] == before_last
    assert truth["comparisons_with_incomplete_context"] == incomplete_context


def test_labels_cover_every_distinct_released_response_with_its_key(small):
    texts = {
        released(row[f"{prefix}_turn_response_{letter}"])
        for row in small["rows"]
        for _, prefix in present_turns(row)
        for letter in LETTERS
    }
    keys = [label["response_key"] for label in small["labels"]]
    assert len(keys) == len(set(keys))
    assert set(keys) == {response_key(text) for text in texts}
    assert small["truth"]["distinct_responses"] == len(texts)
    assert list(small["labels"][0]) == list(LABEL_COLUMNS)


def test_label_scores_agree_with_their_pole(small):
    for label in small["labels"]:
        ts = float(label["traditional_secular"])
        sse = float(label["survival_self_expression"])
        assert -1 <= ts <= 1 and -1 <= sse <= 1
        assert label["labeller"] == gen.LABELLER
        main, sign = {
            "traditional": (ts, -1),
            "secular-rational": (ts, 1),
            "survival": (sse, -1),
            "self-expression": (sse, 1),
        }[label["pole"]]
        other = sse if main is ts else ts
        assert main * sign > 0 and abs(main) > abs(other)


def test_hindi_text_is_devanagari(small):
    hindi = [row for row in small["rows"] if row["assigned_lang"] == "hi"]
    assert hindi
    for row in hindi:
        for _, prefix in present_turns(row):
            for field in ("prompt", "response_a", "response_b", "response_c", "response_d"):
                text = released(row[f"{prefix}_turn_{field}"])
                letters = [c for c in text if c.isalpha()]
                devanagari = [c for c in letters if "\u0900" <= c <= "\u097f"]
                assert len(devanagari) / len(letters) > 0.95, text


def test_every_text_cell_is_nfc(small):
    for row in small["rows"]:
        for value in row.values():
            assert unicodedata.is_normalized("NFC", value)


def test_political_answer_uses_both_apostrophes_and_rare_empty_string_marker(sample):
    answers = Counter(row["annotator_political"] for row in sample["rows"])
    aliases = schema.vocabulary("annotator_political")["aliases"]
    for curly, straight in aliases.items():
        assert answers[curly] and answers[straight]
    markers = sum(row[column] == gen.EMPTY_MARKER for row in sample["rows"] for column in row)
    empty = sum(row[column] == "" for row in sample["rows"] for column in DEMOGRAPHIC_COLUMNS)
    assert 0 < markers < empty


def test_sample_includes_the_real_pregenerated_prompts(sample):
    prompts = {row["first_turn_prompt"] for row in sample["rows"]}
    for bank in gen.BANKS.values():
        for prompt, _ in bank["real_prompts"]:
            assert prompt in prompts


def test_embedded_sample_is_what_write_sample_produces(tmp_path):
    truth = gen.write_sample(tmp_path)
    for name in gen.SAMPLE_FILES.values():
        assert (tmp_path / name).read_bytes() == (gen.SAMPLE_DIR / name).read_bytes(), name
    assert truth["conversations"] == gen.SAMPLE_CONFIG.conversations
    size = sum((gen.SAMPLE_DIR / name).stat().st_size for name in gen.SAMPLE_FILES.values())
    assert size < 3_000_000


def test_command_line_writes_data_labels_and_truth(tmp_path):
    out, labels, truth = tmp_path / "raw.csv", tmp_path / "labels.csv", tmp_path / "truth.json"
    code = gen.main(
        ["--out", str(out), "--conversations", "25", "--seed", "3", "--labels", str(labels),
         "--truth", str(truth)]
    )  # fmt: skip
    assert code == 0
    assert len(read_rows(out)) == 25
    assert json.loads(truth.read_text(encoding="utf-8"))["conversations"] == 25
    assert read_rows(labels)


def test_random_words_give_candidates_that_compress_like_real_text(tmp_path):
    """For benchmarks: the same layout and plan, but each word of a candidate's sentences is
    drawn at random, so that the text is no longer made of a few sentences repeated."""
    import pyarrow as pa

    from builder.build import build
    from builder.validate import validate

    config = replace(SMALL, conversations=200)
    gen.generate(tmp_path / "plain.csv", config)
    gen.generate(tmp_path / "random.csv", replace(config, random_words=True))
    plain, varied = read_rows(tmp_path / "plain.csv"), read_rows(tmp_path / "random.csv")

    def zstd_ratio(rows) -> float:
        cells = (row[f"{p}_turn_response_{x}"] for row in rows for p in PREFIXES for x in "abcd")
        text = "\n".join(cells).encode()
        return len(text) / len(pa.compress(text, codec="zstd", asbytes=True))

    assert [r["conversation_id"] for r in plain] == [r["conversation_id"] for r in varied]
    assert zstd_ratio(varied) < 4 and zstd_ratio(plain) > 10, (
        zstd_ratio(varied),
        zstd_ratio(plain),
    )
    assert all(unicodedata.is_normalized("NFC", value) for row in varied for value in row.values())
    build(tmp_path / "random.csv", tmp_path / "release")
    report = validate(tmp_path / "release", load=False)
    assert report.ok, report.render()


def test_respelled_answers_are_the_same_answers_written_otherwise(tmp_path):
    config = replace(SMALL, conversations=80, respelled_answer_rate=0.3)
    truth = gen.generate(tmp_path / "respelled.csv", config)
    gen.generate(tmp_path / "plain.csv", replace(config, respelled_answer_rate=0.0))
    flags = ["is_pregenerated_first_prompt", "in_balanced_subset", "in_balanced_subset_10"]

    def folded(answer: str) -> str:
        return " ".join(answer.replace("\u2019", "'").split()).casefold()

    demographics, flag_cells = set(), 0
    rows = zip(
        read_rows(tmp_path / "plain.csv"), read_rows(tmp_path / "respelled.csv"), strict=True
    )
    for plain, respelled in rows:
        for column in plain:
            if plain[column] == respelled[column]:
                continue
            assert column in DEMOGRAPHIC_COLUMNS + flags, column
            assert folded(plain[column]) == folded(respelled[column])
            if column in flags:
                flag_cells += 1
            else:
                demographics.add((plain["annotator_id"], column))
    assert demographics and flag_cells
    assert truth["respelled_answers"] == len(demographics) + flag_cells
    assert truth["generator"]["config"]["respelled_answer_rate"] == 0.3
