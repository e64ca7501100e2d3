"""Checks of the card's YAML and text: required and schema-given metadata, language tags,
configs and their globs against the files, dataset_info features, images and the version."""

from __future__ import annotations

import re
from collections import Counter

from builder.card_tables import VERSION_LINE, size_category, versions, without_code
from builder.validate.reader import README, Release, first_line
from builder.validate.registry import Problem, check
from community_alignment import contract, schema

REQUIRED_CARD_FIELDS = (
    "license",
    "language",
    "pretty_name",
    "task_categories",
    "size_categories",
    "configs",
)
CARD_SPEC_FIELDS = ("license", "pretty_name", "task_categories", "tags")
SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")
BAD_CONFIG_CHARACTERS = set('<>:/\\|?*"') | {" ", "\t", "\n"}


@check("card_parses", "card")
def _card_parses(release: Release):
    """README.md YAML front matter parses with huggingface_hub.DatasetCard.

    Fix: write the README.md YAML front matter with `builder build`
    """
    if release.card[2]:
        yield Problem(README, release.card[2].removeprefix(f"{README} "))


@check("card_required_fields", "card", needs=("card",))
def _card_required_fields(release: Release):
    """license, language, pretty_name, task_categories, size_categories, configs are present.

    Fix: rebuild the card; these fields are required on the Hub
    """
    for name in REQUIRED_CARD_FIELDS:
        if not release.meta.get(name):
            yield Problem(name, "missing or empty in the card's YAML")


@check("card_metadata", "card", needs=("card",))
def _card_metadata(release: Release):
    """license, pretty_name, task_categories and tags are those of schema/release.yaml.

    Fix: the card's metadata comes from the `card:` block of schema/release.yaml; rebuild
    """
    spec = schema.load("release")["card"]
    for name in CARD_SPEC_FIELDS:
        if release.meta.get(name) != spec[name]:
            yield Problem(name, f"card has {release.meta.get(name)!r}, schema says {spec[name]!r}")


@check("card_language_tags_valid", "card", needs=("card",))
def _card_language_tags_valid(release: Release):
    """Every `language:` tag of the card is a valid BCP-47 tag.

    Fix: use BCP-47 tags (e.g. `en`, `pt`) in the card's `language:` list
    """
    import langcodes

    tags = release.meta.get("language") or []
    for tag in [tags] if isinstance(tags, str) else tags:
        if not isinstance(tag, str) or not langcodes.tag_is_valid(tag):
            yield Problem(repr(tag), "is not a valid BCP-47 language tag")


@check("card_languages_match_data", "card", needs=("card",))
def _card_languages_match_data(release: Release):
    """The card's languages are exactly the languages present in the data.

    Fix: the card's `language:` must list exactly the languages in data/; rebuild the card
    """
    tags = release.meta.get("language") or []
    tags = [tags] if isinstance(tags, str) else list(tags)
    present = {f.language for f in release.shards if f.language}
    for tag, n in Counter(tags).items():
        if n > 1:
            yield Problem(repr(tag), f"listed {n} times")
    for tag in tags:
        if tag not in present:
            yield Problem(repr(tag), "is in the card's languages but no data file has it")
    for language in sorted(present - set(tags)):
        yield Problem(repr(language), "is in the data but missing from the card's languages")


@check("card_size_category", "card", needs=("card",))
def _card_size_category(release: Release):
    """size_categories matches the number of comparison rows.

    Fix: set size_categories to builder.card.size_category(comparison rows)
    """
    rows = release.table_rows("comparisons")
    expected = [size_category(rows)]
    if release.meta.get("size_categories") != expected:
        yield Problem(
            "size_categories",
            f"card says {release.meta.get('size_categories')!r}; "
            f"{rows:,} comparisons is {expected!r}",
        )


@check("card_default_config", "card", needs=("card",))
def _card_default_config(release: Release):
    """Exactly one config is the default, and it is `comparisons`.

    Fix: mark exactly one config `default: true`, and make it `comparisons`
    """
    defaults = [name for name, default, _ in release.configs if default]
    if defaults != [contract.default_config()]:
        where = ", ".join(defaults) if defaults else "configs"
        yield Problem(
            where, f"default configs are {defaults}, expected [{contract.default_config()!r}]"
        )


@check("card_names_legal", "card", needs=("card",))
def _card_names_legal(release: Release):
    r"""Config names and split names are legal on the Hub, and unique.

    Fix: config names must be unique without / \ : * ? " < > | or spaces; split names must match
    ^\w+(\.\w+)*$
    """
    names = [name for name, _, _ in release.configs]
    for name, n in Counter(names).items():
        if n > 1:
            yield Problem(f"config {name}", f"appears {n} times in configs")
    for name, _, splits in release.configs:
        if not name or name == "None" or BAD_CONFIG_CHARACTERS & set(name) or name.startswith("."):
            yield Problem(f"config {name!r}", "is not a legal config name")
        for split in splits:
            if not SPLIT_NAME.match(split):
                yield Problem(f"config {name} split {split!r}", "is not a legal split name")
        if not splits:
            yield Problem(f"config {name}", "has no data_files")


@check("card_globs_match_files", "card", needs=("card",))
def _card_globs_match_files(release: Release):
    """Every data_files glob of every config matches at least one file.

    Fix: fix the glob or restore the files it should read
    """
    for name, _, splits in release.configs:
        for split, patterns in splits.items():
            for pattern in patterns:
                if not release.matched(pattern):
                    yield Problem(f"{pattern} ({name}/{split})", "matches no file in the release")


@check("data_files_claimed", "card", needs=("card",))
def _data_files_claimed(release: Release):
    """Every file under data/ is read by some config of the card.

    Fix: every file under data/ must be read by some config: remove the file or fix the card's
    configs
    """
    claimed: set[str] = set()
    for _, _, splits in release.configs:
        for patterns in splits.values():
            for pattern in patterns:
                claimed.update(release.matched(pattern))
    for path in release.files:
        if path.startswith("data/") and path not in claimed:
            yield Problem(path, "no config's data_files glob matches it")


@check("card_configs_match_data", "card", needs=("card",))
def _card_configs_match_data(release: Release):
    """The configs and splits, and the files each split reads, are what the schema and data imply.

    Fix: the card's configs/splits must be one config per table present plus one per language,
    split by country; rebuild the card
    """
    expected = release.expected_configs
    card = {name: splits for name, _, splits in release.configs}
    for name in expected:
        if name not in card:
            yield Problem(f"config {name}", "is implied by the data but missing from the card")
    for name, splits in card.items():
        if name not in expected:
            yield Problem(f"config {name}", "is in the card but the data implies no such config")
            continue
        for split in expected[name]:
            if split not in splits:
                yield Problem(f"{name}/{split}", "split is implied by the data but not in the card")
        for split, patterns in splits.items():
            if split not in expected[name]:
                yield Problem(
                    f"{name}/{split}", "split is in the card but the data has no rows for it"
                )
                continue
            reads = {f for p in patterns for f in release.matched(p)}
            should = set(expected[name][split])
            if reads != should:
                details = []
                if should - reads:
                    details.append(f"misses {sorted(should - reads)}")
                if reads - should:
                    details.append(f"also reads {sorted(reads - should)}")
                yield Problem(
                    f"{name}/{split}", f"its data_files {patterns} {' and '.join(details)}"
                )


@check("card_dataset_info_features", "card", needs=("card",))
def _card_dataset_info_features(release: Release):
    """Every config's dataset_info features equal the schema's features of its table.

    Fix: dataset_info features must be schema.features(table); rebuild the card
    """
    import datasets

    for name, info in release.dataset_info.items():
        try:
            table = contract.table_of_config(name)
        except ValueError as error:
            yield Problem(f"dataset_info {name}", str(error))
            continue
        try:
            features = datasets.DatasetInfo._from_yaml_dict(dict(info)).features
        except Exception as error:  # noqa: BLE001
            yield Problem(f"dataset_info {name}", f"does not parse: {first_line(error)}")
            continue
        if features != schema.features(table):
            yield Problem(f"dataset_info {name}", f"features differ from the schema of `{table}`")


IMAGE_MARKDOWN = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)")
IMAGE_HTML = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']*)[\"']", re.I)
ASSET = re.compile(r"^assets/[^/]+\.png$")


def card_images(text: str) -> list[str]:
    """The image paths the card's text references (markdown and HTML), outside code blocks.

    >>> card_images('![map](assets/m.png) <img width="50%" src="assets/x.png">')
    ['assets/m.png', 'assets/x.png']
    """
    text = without_code(text)
    found = [(m.start(), m.group(1)) for m in IMAGE_MARKDOWN.finditer(text)]
    found += [(m.start(), m.group(1)) for m in IMAGE_HTML.finditer(text)]
    return [path for _, path in sorted(found)]


def _image_problem(release: Release, path: str) -> str | None:
    """Why an image reference does not resolve to a file inside the release, or None."""
    if not path:
        return "has an empty path"
    if re.match(r"^[a-z][a-z0-9+.-]*:", path, flags=re.I) or path.startswith(("/", "\\")):
        return "is not a path relative to the release (the figure must be in assets/)"
    if "\\" in path or ".." in path.split("/"):
        return "leaves the folder it is in (`..` or a backslash)"
    # No symlink is followed: a Hub snapshot's files are all links into its blob store, and
    # with `..` and absolute paths refused, a path names a file of the release or none.
    relative = path.removeprefix("./")
    if relative not in release.files:
        return "is not a file of the release"
    if not ASSET.match(relative):
        return "is not an assets/*.png file"
    return None


@check("card_images", "card", needs=("card",))
def _card_images(release: Release):
    """Every image the card shows is an assets/*.png file of the release, by a relative path.

    Fix: embed figures as ![...](assets/NAME.png) and keep the files in the release's assets/
    folder (`builder build` writes both); no absolute paths, URLs or `..`
    """
    for path in card_images(release.card[1]):
        problem = _image_problem(release, path)
        if problem:
            yield Problem(f"image {path!r}", problem)


@check("card_version", "card", needs=("card",))
def _card_version(release: Release):
    """The card states a release version of schema/versions.yaml, the manifest's if it has one.

    Fix: the card's "Version **X**" line comes from schema/versions.yaml (its newest entry) at
    build time; rebuild, and add a versions.yaml entry before releasing a new version
    """
    match = VERSION_LINE.search(release.card[1])
    if not match:
        yield Problem(README, "states no release version (a line `Version **X.Y.Z** ...`)")
        return
    stated = match["version"]
    known = [str(v["version"]) for v in versions()]
    if stated not in known:
        yield Problem(f"version {stated}", f"is not in schema/versions.yaml ({', '.join(known)})")
    manifest = release.manifest[0] or {}
    recorded = manifest.get("release_version")
    if recorded is not None and str(recorded) != stated:
        yield Problem(
            f"version {stated}", f"the card states {stated}, the manifest records {recorded}"
        )
