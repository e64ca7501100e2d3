"""The card: every number it prints equals one computed here, independently, from the raw file.

A release is built from generated raw data (with the generator's IW labels). The expected
numbers are computed from the raw CSV with the ``csv`` module and plain Python, mirroring only
what the release does to the text (``<|end_of_text|>`` stripped, NFC, missing markers as
nulls), and agreement against the ``krippendorff`` package. The card's numbers are parsed from
its markdown. The card must also pass the validator, embed figures that exist inside the
release, render to HTML with its tables and images, and stay readable on a tiny release.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import krippendorff
import numpy as np
import pytest

from builder import card, card_preview
from builder import validate as v
from builder.build import build
from builder.generate import GeneratorConfig, generate
from tests.conftest import raw_row, write_raw

ROOT = Path(__file__).resolve().parent.parent
COUNTRIES = {"united states": "us", "france": "fr", "italy": "it", "brazil": "br", "india": "in"}
COUNTRY_ORDER = ["us", "fr", "it", "br", "in"]
LANGUAGE_ORDER = ["en", "fr", "it", "pt", "hi"]
PREFIXES = ["first", "second", "third", "fourth"]
LETTERS = "abcd"
MARKERS = {"", "EMPTY STRING"}


# --- the raw file, read with csv and plain Python -------------------------------------------------


def clean(cell: str) -> str | None:
    text = unicodedata.normalize("NFC", cell.replace("\r\n", "\n"))
    return None if text.strip() in MARKERS else text


def clean_response(cell: str) -> str | None:
    text = clean(cell)
    if text is None:
        return None
    text = re.sub(r"\s*<\|end_of_text\|>", "", text)
    return text or None


def read_raw(path: Path) -> list[dict]:
    """One dict per conversation: its ids, country, language, flag and turns."""
    conversations = []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            turns = []
            for number, prefix in enumerate(PREFIXES, start=1):
                prompt = clean(row[f"{prefix}_turn_prompt"])
                responses = [clean_response(row[f"{prefix}_turn_response_{x}"]) for x in LETTERS]
                raw_choice = row[f"{prefix}_turn_preferred_response"].strip()
                explanation = clean(row[f"{prefix}_turn_feedback"])
                if prompt is None and not raw_choice and explanation is None and not any(responses):
                    continue
                choice = (
                    LETTERS.index(raw_choice[-1]) if raw_choice.startswith("response_") else None
                )
                turns.append(
                    {"turn": number, "prompt": prompt, "responses": responses, "choice": choice,
                     "explanation": explanation}
                )  # fmt: skip
            conversations.append(
                {
                    "conversation_id": row["conversation_id"].strip(),
                    "annotator_id": row["annotator_id"].strip(),
                    "country": COUNTRIES[row["annotator_country"].strip().lower()],
                    "language": row["assigned_lang"].strip().lower(),
                    "pregenerated": row["is_pregenerated_first_prompt"].strip() == "True",
                    "turns": turns,
                }
            )
    return conversations


def comparisons_of(conversations: list[dict]) -> list[dict]:
    """Every turn with a choice, with its unit: the context, prompt and four responses."""
    out = []
    for conversation in conversations:
        context: list[tuple[str, str]] = []
        by_number = {t["turn"]: t for t in conversation["turns"]}
        for number in range(1, 5):
            turn = by_number.get(number)
            if turn is None:
                continue
            chosen = turn["responses"][turn["choice"]] if turn["choice"] is not None else None
            if turn["choice"] is not None:
                assert turn["prompt"] is not None and chosen is not None  # nothing quarantined
                out.append(
                    {
                        **{k: conversation[k] for k in ("annotator_id", "country", "language")},
                        "comparison_id": f"{conversation['conversation_id']}-{number}",
                        "choice": turn["choice"],
                        "explanation": turn["explanation"],
                        "responses": turn["responses"],
                        "unit": (tuple(context), turn["prompt"], tuple(turn["responses"])),
                    }
                )
            if turn["prompt"] is not None:
                context.append(("user", turn["prompt"]))
            if chosen is not None:
                context.append(("assistant", chosen))
    return out


def one_pick_each(comparisons: list[dict]) -> list[dict]:
    """An annotator's first pick on a unit (smallest comparison_id, as text) counts once."""
    kept = {}
    for c in sorted(comparisons, key=lambda c: c["comparison_id"]):
        kept.setdefault((c["unit"], c["annotator_id"]), c)
    return list(kept.values())


def percent(x: float) -> str:
    return f"{x:.1%}"


def response_key(text: str) -> str:
    return hashlib.sha256(unicodedata.normalize("NFC", text).encode("utf-8")).hexdigest()[:16]


# --- the card, parsed ------------------------------------------------------------------------------


def table_under(text: str, heading: str, index: int = 0) -> list[dict[str, str]]:
    """The ``index``-th markdown table under a heading (to the next heading), as dicts."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    section = re.search(
        r"^#+ " + re.escape(heading) + r"\s*$(.*?)(?=^#|\Z)", text, flags=re.M | re.S
    )
    assert section, f"no section {heading!r}"
    tables, current = [], []
    for line in section.group(1).splitlines():
        if line.startswith("|"):
            current.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    header, _, *rows = tables[index]
    return [dict(zip(header, row, strict=True)) for row in rows]


def code_of(label: str) -> str:
    return re.search(r"`([^`]+)`", label).group(1)


def by_code(rows: list[dict[str, str]], key: str) -> dict[str, dict[str, str]]:
    return {code_of(row[key]) if "`" in row[key] else row[key]: row for row in rows}


def number(cell: str) -> int:
    return int(cell.replace(",", ""))


def estimate(cell: str) -> tuple[str, float, float]:
    """'0.144 [0.036, 0.227]' -> ('0.144', 0.036, 0.227); bounds NaN when absent."""
    match = re.fullmatch(r"(\S+)(?: \[(\S+), (\S+)\])?", cell)
    low, high = match.group(2), match.group(3)
    return match.group(1), float(low) if low else math.nan, float(high) if high else math.nan


# --- the release ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("card")
    raw, labels = folder / "raw.csv", folder / "labels.csv"
    generate(raw, GeneratorConfig(conversations=800, seed=7, annotators=60), labels_path=labels)
    result = build(raw, folder / "release", iw_labels=labels)
    text = (result.release / "README.md").read_text(encoding="utf-8")
    conversations = read_raw(raw)
    return {
        "release": result.release,
        "report": result.report,
        "raw": raw,
        "labels": labels,
        "text": text,
        "conversations": conversations,
        "comparisons": comparisons_of(conversations),
    }


def test_nothing_is_quarantined_so_the_raw_file_is_the_release(built):
    books = built["report"]["books"]
    assert books["rows_quarantined"] == books["turns_quarantined"] == 0
    assert books["duplicate_rows_dropped"] == 0


def turns_with_context(conversation: dict):
    """Each present turn of a conversation, and whether every earlier turn (1-4) is there with
    a prompt and a choice."""
    complete = True
    by_number = {t["turn"]: t for t in conversation["turns"]}
    for number in range(1, 5):
        turn = by_number.get(number)
        if turn is None:
            complete = False
            continue
        yield turn, complete
        complete = complete and turn["prompt"] is not None and turn["choice"] is not None


def incomplete_comparisons(conversations: list[dict]) -> int:
    """Comparisons after a missing turn or a turn without a prompt or a choice."""
    return sum(
        turn["choice"] is not None and not complete
        for conversation in conversations
        for turn, complete in turns_with_context(conversation)
    )


def test_headline_build_table_and_source(built):
    text, conversations, comparisons = built["text"], built["conversations"], built["comparisons"]
    headline = v.parse_headline(text)
    assert headline["comparisons"] == len(comparisons)
    assert headline["conversations"] == len(conversations)
    assert headline["annotators"] == len({c["annotator_id"] for c in conversations})
    build_rows = {r["count"]: number(r["value"]) for r in table_under(text, "Source and build")}
    assert build_rows == {
        "raw rows (conversations) in the file": len(conversations),
        "conversations released": len(conversations),
        "raw rows quarantined": 0,
        "exact duplicate rows dropped": 0,
        "turns with a recorded choice": len(comparisons),
        "comparisons released": len(comparisons),
        "turns quarantined": 0,
        "comparisons left out of `pairs` (incomplete context)": incomplete_comparisons(
            conversations
        ),
    }
    digest = hashlib.sha256(built["raw"].read_bytes()).hexdigest()
    assert f"sha256 `{digest}`" in text
    assert f"{built['raw'].stat().st_size:,} bytes" in text
    version = card.versions()[0]
    assert f"Version **{version['version']}** ({version['date']})" in text
    assert f"### {version['version']} ({version['date']})" in text


def test_pairs_count_from_the_raw_file(built):
    """One pair per present, non-chosen candidate of comparisons whose earlier turns all have a
    prompt and a choice."""
    expected = sum(
        sum(r is not None for r in turn["responses"]) - 1
        for conversation in built["conversations"]
        for turn, complete in turns_with_context(conversation)
        if turn["choice"] is not None and complete
    )
    assert v.parse_headline(built["text"])["pairs"] == expected


def test_at_a_glance(built):
    conversations, comparisons = built["conversations"], built["comparisons"]
    glance = {r["statistic"]: r["value"] for r in table_under(built["text"], "At a glance")}
    n = len(comparisons)
    assert glance["comparisons with an explanation"] == percent(
        sum(c["explanation"] is not None for c in comparisons) / n
    )
    assert glance["comparisons not in English"] == percent(
        sum(c["language"] != "en" for c in comparisons) / n
    )
    assert glance["conversations whose first prompt the annotator wrote"] == percent(
        sum(not c["pregenerated"] for c in conversations) / len(conversations)
    )
    first_prompts = defaultdict(set)
    for c in conversations:
        first = next((t for t in c["turns"] if t["turn"] == 1), None)
        if first and first["prompt"] is not None:
            first_prompts[first["prompt"]].add(c["annotator_id"])
    wide = sum(len(people) >= 10 for people in first_prompts.values())
    assert wide > 0
    assert number(glance["first prompts with at least 10 annotators"]) == wide
    units = defaultdict(set)
    for c in comparisons:
        units[c["unit"]].add(c["annotator_id"])
    assert number(glance["units with at least 10 annotators"]) == sum(
        len(p) >= 10 for p in units.values()
    )
    assert number(glance["units with at least 2 annotators"]) == sum(
        len(p) >= 2 for p in units.values()
    )
    per_annotator = Counter(c["annotator_id"] for c in conversations)
    assert (
        glance["median conversations per annotator"]
        == f"{statistics.median(per_annotator.values()):g}"
    )
    longest = chance = 0.0
    for c in comparisons:
        lengths = [len(r) for r in c["responses"] if r is not None]
        longest += len(c["responses"][c["choice"]]) == max(lengths)
        chance += lengths.count(max(lengths)) / len(lengths)
    assert glance["comparisons won by the longest candidate"] == percent(longest / n)
    assert glance["... if every pick were random"] == percent(chance / n)


def test_by_country_language_and_length(built):
    conversations, comparisons, text = built["conversations"], built["comparisons"], built["text"]
    for heading, key, order in (("Countries", "country", COUNTRY_ORDER),
                                ("Languages", "language", LANGUAGE_ORDER)):  # fmt: skip
        rows = by_code(table_under(text, heading), key)
        assert list(rows) == [g for g in order if any(c[key] == g for c in conversations)]
        for group, row in rows.items():
            mine = [c for c in conversations if c[key] == group]
            assert number(row["conversations"]) == len(mine)
            assert number(row["comparisons"]) == sum(c[key] == group for c in comparisons)
            assert number(row["annotators"]) == len({c["annotator_id"] for c in mine})
    lengths = Counter(len(c["turns"]) for c in conversations)
    rows = {r["turns"]: r for r in table_under(text, "Conversation length")}
    assert set(rows) == {str(k) for k in lengths}
    for turns, n in lengths.items():
        assert number(rows[str(turns)]["conversations"]) == n
        assert rows[str(turns)]["share"] == percent(n / len(conversations))


def test_positions_by_country(built):
    comparisons = built["comparisons"]
    rows = by_code(table_under(built["text"], "Which position gets chosen"), "country")
    for group, row in rows.items():
        mine = comparisons if group == "all" else [c for c in comparisons if c["country"] == group]
        assert number(row["comparisons"]) == len(mine)
        counts = Counter(c["choice"] for c in mine)
        for k, letter in enumerate("ABCD"):
            assert row[f"chose {letter}"] == percent(counts[k] / len(mine)), (group, letter)
    assert list(rows) == [*COUNTRY_ORDER, "all"]


def test_agreement_by_country_against_the_krippendorff_package(built):
    picks = one_pick_each(built["comparisons"])
    rows = by_code(table_under(built["text"], "Do annotators agree?"), "country")
    assert list(rows) == COUNTRY_ORDER
    checked = 0
    for country, row in rows.items():
        units = defaultdict(lambda: [0, 0, 0, 0])
        for c in picks:
            if c["country"] == country:
                units[c["unit"]][c["choice"]] += 1
        counts = np.array([u for u in units.values() if sum(u) >= 2])
        assert number(row["picks"]) == sum(c["country"] == country for c in picks)
        assert number(row["units (≥ 2 picks)"]) == len(counts)
        n = counts.sum(axis=1)
        assert number(row["pairs of picks"]) == int((n * (n - 1)).sum() // 2)
        alpha_text, low, high = estimate(row["Krippendorff's α [95% CI]"])
        expected = krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
        assert alpha_text == f"{expected:.3f}", country
        assert -1.0 <= low <= high <= 1.0
        pairwise_text, low, high = estimate(row["pairwise agreement [95% CI]"])
        pooled = (counts * (counts - 1)).sum() / (n * (n - 1)).sum()
        assert pairwise_text == percent(pooled)
        assert 0.0 <= low <= high <= 100.0
        shares = counts.sum(axis=0) / counts.sum()
        assert row["chance agreement"] == percent((shares**2).sum())
        checked += 1
    assert checked == 5


def test_agreement_across_countries_and_positions(built):
    picks = one_pick_each(built["comparisons"])
    by_unit = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    for c in picks:
        by_unit[c["unit"]][c["country"]][c["choice"]] += 1
    expected = {}
    for a_index, a in enumerate(COUNTRY_ORDER):
        for b in COUNTRY_ORDER[a_index + 1 :]:
            units = [u for u in by_unit.values() if a in u and b in u]
            pairs = sum(sum(u[a]) * sum(u[b]) for u in units)
            if pairs:
                agree = sum(np.dot(u[a], u[b]) for u in units)
                expected[f"`{a}` and `{b}`"] = (len(units), pairs, percent(agree / pairs))
    assert expected, "the generated data has countries that share a language"
    with open(ROOT / "community_alignment" / "data" / "iw_countries.csv", encoding="utf-8") as f:
        positions = {
            r["iso2"]: (float(r["traditional_secular"]), float(r["survival_self_expression"]))
            for r in csv.DictReader(f)
        }
    rows = {r["countries"]: r for r in table_under(built["text"], "Agreement across countries")}
    assert set(rows) == set(expected)
    for name, (units, pairs, agreement) in expected.items():
        a, b = re.findall(r"`(\w+)`", name)
        assert rows[name]["IW distance"] == f"{math.dist(positions[a], positions[b]):.2f}"
        assert number(rows[name]["shared units"]) == units
        assert number(rows[name]["pairs of picks"]) == pairs
        assert estimate(rows[name]["agreement [95% CI]"])[0] == agreement
    table = by_code(table_under(built["text"], "Country positions"), "country")
    for code, row in table.items():
        assert row["traditional (−) / secular-rational (+)"] == f"{positions[code][0]:.2f}"
        assert row["survival (−) / self-expression (+)"] == f"{positions[code][1]:.2f}"


def test_iw_summaries_with_the_labels(built):
    with open(built["labels"], encoding="utf-8", newline="") as handle:
        labels = {r["response_key"]: r for r in csv.DictReader(handle)}
    heading = "Values: the Inglehart-Welzel map"
    choices = by_code(table_under(built["text"], heading, 0), "country")
    sets = by_code(table_under(built["text"], heading, 1), "country")
    scores = by_code(table_under(built["text"], heading, 2), "country")
    poles = ["traditional", "secular-rational", "survival", "self-expression"]
    for country in COUNTRY_ORDER:
        mine = [c for c in built["comparisons"] if c["country"] == country]
        chosen = [labels[response_key(c["responses"][c["choice"]])] for c in mine]
        pole_counts = Counter(label["pole"] for label in chosen)
        assert number(choices[country]["labelled choices"]) == len(chosen)
        for pole in poles:
            assert choices[country][pole] == percent(pole_counts[pole] / len(chosen))
        non_default = (pole_counts["traditional"] + pole_counts["survival"]) / len(chosen)
        assert estimate(choices[country]["traditional or survival [95% CI]"])[0] == percent(
            non_default
        )
        units = {}
        for c in mine:
            units[c["unit"]] = [
                labels[response_key(r)]["pole"] for r in c["responses"] if r is not None
            ]
        assert number(sets[country]["labelled sets"]) == len(units)
        for column, wanted in (("traditional", {"traditional"}), ("survival", {"survival"}),
                               ("traditional or survival", {"traditional", "survival"})):  # fmt: skip
            share = sum(bool(wanted & set(p)) for p in units.values()) / len(units)
            assert sets[country][column] == percent(share), (country, column)
        for column, axis in (
            ("traditional / secular-rational [95% CI]", "traditional_secular"),
            ("survival / self-expression [95% CI]", "survival_self_expression"),
        ):
            mean = sum(float(label[axis]) for label in chosen) / len(chosen)
            assert estimate(scores[country][column])[0] == f"{mean:.3f}"


def test_the_card_passes_the_validator_and_its_images_are_in_the_release(built):
    report = v.validate(built["release"], load=False, iw_labels=built["labels"])
    assert report.ok, report.render()
    images = v.card_images(built["text"])
    assert sorted(images) == sorted(card.FIGURES.values())
    release = built["release"].resolve()
    for image in images:
        assert ".." not in image and not image.startswith("/")
        path = (release / image).resolve()
        assert release in path.parents and path.is_file()
        assert path.read_bytes().startswith(b"\x89PNG")
    manifest = json.loads((release / "manifest.json").read_text())
    assert set(card.FIGURES.values()) <= set(manifest["files"])


def test_the_validator_catches_an_edited_statistic_and_a_broken_image(built, tmp_path):
    import shutil

    from tests.test_validate import edit_card

    release = shutil.copytree(built["release"], tmp_path / "release")
    edit_card(
        release,
        body=lambda t: t.replace("| comparisons with an explanation | ",
                                 "| comparisons with an explanation | 1", 1)
        .replace("(assets/iw_map.png)", "(../iw_map.png)"),
    )  # fmt: skip
    report = v.validate(release, load=False, iw_labels=built["labels"])
    assert {r.check for r in report.failed} == {"card_glance", "card_images"}
    assert "comparisons with an explanation/value" in report["card_glance"].message
    assert "../iw_map.png" in report["card_images"].first


def test_the_card_renders_to_html_with_tables_and_images(built, tmp_path):
    page = card_preview.render_html(built["release"], tmp_path / "preview" / "card.html")
    text = page.read_text(encoding="utf-8")
    assert text.count("<table>") >= 10
    sources = re.findall(r'<img[^>]*src="([^"]+)"', text)
    assert len(sources) == len(card.FIGURES)
    for src in sources:
        assert (page.parent / src).resolve().is_file(), src
    assert "<pre><code" in text and "{{" not in text and "nan" not in text.lower().split()


def test_two_builds_draw_the_same_figures(built, tmp_path):
    again = build(built["raw"], tmp_path / "again", iw_labels=built["labels"]).release
    for figure in card.FIGURES.values():
        assert (again / figure).read_bytes() == (built["release"] / figure).read_bytes(), figure
    assert (again / "README.md").read_bytes() == (built["release"] / "README.md").read_bytes()


# --- small data: every statistic undefined, said so -----------------------------------------------


def test_a_tiny_release_says_n_a_with_the_reason(tmp_path):
    rows = [raw_row("1", "1"), raw_row("2", "2", language="hi", country="india", turns=1)]
    release = build(write_raw(tmp_path / "raw.csv", rows), tmp_path / "release").release
    text = (release / "README.md").read_text(encoding="utf-8")
    body = text.split("---", 2)[2]
    assert not re.search(r"\bnan\b", body, flags=re.I)
    agreement = by_code(table_under(text, "Do annotators agree?"), "country")
    assert agreement["us"]["Krippendorff's α [95% CI]"] == "n/a"
    assert "no unit has two or more picks" in body
    assert "No two countries share a unit" in body
    assert "No labels were supplied" in body
    assert v.validate(release, load=False).ok


def test_the_sample_card_with_labels_is_valid_and_readable(tmp_path):
    sample = ROOT / "builder" / "sample"
    release = build(
        sample / "community_alignment_sample.csv", tmp_path / "release",
        iw_labels=sample / "iw_labels.csv",
    ).release  # fmt: skip
    report = v.validate(release, load=False, iw_labels=sample / "iw_labels.csv")
    assert report.ok, report.render()
    text = (release / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"\bnan\b", text.split("---", 2)[2], flags=re.I)
    assert "Which poles the chosen responses have" in text


def test_versions_are_newest_first_and_the_release_version_is_the_newest(monkeypatch):
    from community_alignment import schema

    assert card.versions()[-1]["version"] == "1.0.0"  # the first release stays listed
    entries = [
        {"version": "1.10.0", "date": "2027-01-02", "changes": ["b"]},
        {"version": "1.9.3", "date": "2026-12-01", "changes": ["a"]},
    ]
    monkeypatch.setattr(schema, "load", lambda name: {"versions": entries})
    assert card.release_version() == "1.10.0"  # newest by number, not by text
    entries.reverse()
    with pytest.raises(ValueError, match="newest first"):
        card.release_version()


def test_the_validator_checks_the_release_version_and_allows_only_png_assets(built, tmp_path):
    import shutil

    release = shutil.copytree(built["release"], tmp_path / "release")
    manifest_path = release / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["release_version"] = card.release_version()
    manifest_path.write_text(json.dumps(manifest))
    assert v.validate(release, load=False, iw_labels=built["labels"]).ok
    manifest["release_version"] = "9.9.9"
    manifest_path.write_text(json.dumps(manifest))
    report = v.validate(release, load=False, iw_labels=built["labels"])
    assert {r.check for r in report.failed} == {"card_version"}
    assert "the manifest records 9.9.9" in report["card_version"].message
    manifest["release_version"] = card.release_version()
    manifest_path.write_text(json.dumps(manifest))
    (release / "assets" / "notes.txt").write_text("x")
    report = v.validate(release, load=False, iw_labels=built["labels"])
    assert {r.check for r in report.failed} == {"stray_files", "manifest_complete"}


def test_describe_and_scan_are_exported_from_the_package(built):
    import community_alignment as ca

    stats = ca.describe(built["release"])
    assert stats["comparisons"] == len(built["comparisons"])
    assert stats["conversations"] == len(built["conversations"])
    assert ca.scan(built["release"], "annotators").collect().height == len(
        {c["annotator_id"] for c in built["conversations"]}
    )
