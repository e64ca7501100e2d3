"""The generator's text: each language's banks (``text/<language>.yaml`` over the defaults of
``text/base.yaml``) and :class:`Text`, which joins their sentences into prompts, candidates and
explanations."""

from __future__ import annotations

import math
import random
import unicodedata

from builder.generate.config import (
    END_OF_TEXT,
    LANGUAGES,
    LETTERS,
    MINUTES,
    SMALL_NUMBERS,
    TEXT_DIR,
    load_text,
)
from community_alignment.iw import POLES

# Banks written `first part | second part` in the data files, read as pairs.
PAIRED = ("asks", "docs", "recipients")


def _nfc(value):
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {key: _nfc(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_nfc(item) for item in value)
    return value


def load_bank(language: str) -> dict:
    """A language's banks: the base's defaults, then the language's own; every string NFC."""
    bank = load_text("base")["bank"] | load_text(language)
    missing = set(load_text("en")) - set(bank)
    if missing:
        raise ValueError(f"{TEXT_DIR / language}.yaml lacks the banks {sorted(missing)}")
    bank["real_prompts"] = [(item["prompt"], item["about"]) for item in bank["real_prompts"]]
    for name in PAIRED:
        bank[name] = [tuple(part.strip() for part in line.split("|")) for line in bank[name]]
    return _nfc(bank)


BANKS: dict[str, dict] = {language: load_bank(language) for language in LANGUAGES}


def _strings(value) -> list[str]:
    """Every string in a bank (nested lists, tuples and dicts)."""
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value
    return [text for item in items for text in _strings(item)]


def _reworded(rng: random.Random, sentence: str, words: list[str]) -> str:
    """As many words as the sentence has (split at spaces, so a word keeps its marks), each
    drawn from ``words``, and every other one, on average, joined to a second: a few hundred
    words alone compress about 4x."""
    count = sentence.count(" ") + 1
    drawn = rng.choices(words, k=2 * count)
    glue = rng.choices(("", None), k=count)
    return " ".join(
        drawn[2 * i] + drawn[2 * i + 1] if glue[i] == "" else drawn[2 * i] for i in range(count)
    )


class Text:
    """Builds the text of one language with a given ``random.Random``."""

    def __init__(self, language: str, length_scale: float, random_words: bool = False):
        self.language = language
        self.bank = BANKS[language]
        self.scale = length_scale
        self.words = []  # drawn from when candidates' words are random (see GeneratorConfig)
        if random_words:
            texts = _strings(self.bank)
            self.words = sorted({w for t in texts for w in t.split(" ") if "{" not in w})

    # prompts ---------------------------------------------------------------------------------

    def _core_prompt(self, rng: random.Random) -> tuple[str, str]:
        """(prompt, about) of a new first prompt without greeting or suffix."""
        bank = self.bank
        n = rng.choice(SMALL_NUMBERS)
        kind = rng.random()
        if kind < 0.5:
            ask, about = rng.choice(bank["asks"])
            ask, about = ask.format(n=n), about.format(n=n)
            return rng.choice(bank["ask_templates"]).format(ask=ask), about
        if kind < 0.65:
            concept = rng.choice(bank["concepts"])
            return rng.choice(bank["concept_templates"]).format(concept=concept), concept
        if kind < 0.8:
            city = rng.choice(bank["cities"])
            prompt = rng.choice(bank["travel_templates"]).format(city=city, n=n)
            return prompt, bank["travel_about"].format(city=city)
        doc = rng.choice(bank["docs"])
        recipient = rng.choice(bank["recipients"])
        purpose = rng.choice(bank["purposes"])
        prompt = rng.choice(bank["writing_templates"]).format(
            doc=doc[0], recipient=recipient[0], purpose=purpose
        )
        return prompt, bank["writing_about"].format(doc=doc[1], recipient=recipient[1])

    def first_prompt(self, rng: random.Random, written: bool) -> tuple[str, str]:
        """A first prompt: pregenerated ones are plain; annotators add greetings and context."""
        prompt, about = self._core_prompt(rng)
        bank = self.bank
        if written and rng.random() < 0.3:
            prefix = rng.choice(bank["prefixes"])
            if prefix.endswith(",") and not prompt.startswith(("I ", "I'")):
                prompt = prompt[0].lower() + prompt[1:]
            prompt = f"{prefix} {prompt}"
        if rng.random() < (0.35 if written else 0.25):
            prompt += " " + rng.choice(bank["suffixes"]).format(m=rng.choice(MINUTES))
        if rng.random() < (0.3 if written else 0.15):
            prompt += " " + bank["age_context"].format(age=rng.randint(18, 75))
        if written and rng.random() < 0.08:
            prompt = prompt[0].lower() + prompt[1:]
        return prompt, about

    def followup(self, rng: random.Random, about: str) -> str:
        bank = self.bank
        relative = rng.choice(bank["relatives"])
        text = rng.choice(bank["followups"]).format(
            n=rng.choice(SMALL_NUMBERS),
            about=about,
            amount=rng.choice(bank["amounts"]),
            relative=relative,
            Relative=relative[0].upper() + relative[1:],
        )
        prefix = rng.choice(bank["followup_prefixes"])
        if prefix.endswith(", "):
            text = text[0].lower() + text[1:]
        return prefix + text

    # candidates ------------------------------------------------------------------------------

    def _count(self, rng: random.Random, low: int, high: int) -> int:
        return max(1, round(rng.randint(low, high) * self.scale))

    def response(self, rng: random.Random, about: str, pole: str) -> str:
        """One candidate: a short answer, paragraphs, a numbered list or markdown sections.

        ``length_scale`` scales the number of sentences; below 1 it also makes the opening,
        closing and example lines rarer.
        """
        bank = self.bank
        frame = min(1.0, self.scale)
        slots = {"n": rng.choice(SMALL_NUMBERS), "m": rng.choice(MINUTES), "about": about}
        opener = rng.choice(bank["openers"]).format_map(slots)
        body = [s.format_map(slots) if "{" in s else s for s in rng.sample(bank["body"], 14)]
        value = rng.sample(bank["poles"][pole], 2)
        if self.words:
            body, value = ([_reworded(rng, s, self.words) for s in part] for part in (body, value))
        closer = rng.choice(bank["closers"])
        example = (
            bank["example"].format(quote=rng.choice(bank["quotes"]))
            if rng.random() < 0.15 * frame
            else None
        )
        head = [opener] if rng.random() < frame else []
        style = rng.random()
        if style < 0.14:  # short: a couple of sentences
            sentences = body[: rng.randint(1, 2)] + value[:1]
            rng.shuffle(sentences)
            if rng.random() < 0.5 * frame:
                sentences.insert(0, opener)
            return " ".join(sentences)
        if style < 0.55:  # paragraphs
            paragraphs = head
            sentences = body[: self._count(rng, 3, 9)] + value[: rng.randint(1, 2)]
            rng.shuffle(sentences)
            while sentences:
                size = rng.randint(2, 4)
                paragraphs.append(" ".join(sentences[:size]))
                sentences = sentences[size:]
            if example:
                paragraphs.insert(rng.randint(1, len(paragraphs)), example)
            if rng.random() < 0.6 * frame:
                paragraphs.append(closer)
            return "\n\n".join(paragraphs)
        if style < 0.85:  # numbered list, some items with a bold label
            items = body[: self._count(rng, 2, 7)] + value[:1]
            rng.shuffle(items)
            labels = rng.sample(bank["labels"], min(len(items), len(bank["labels"])))
            bold = rng.random() < 0.6
            lines = [
                f"{i}. **{labels[i - 1]}**: {item}" if bold and i <= len(labels) else f"{i}. {item}"
                for i, item in enumerate(items, start=1)
            ]
            parts = [*head, "\n".join(lines)]
            if example:
                parts.append(example)
            if rng.random() < 0.7 * frame:
                parts.append(closer)
            return "\n\n".join(parts)
        # markdown sections with a heading each, paragraphs or bullets
        sentences = body[: self._count(rng, 3, 7)] + value[:2]
        rng.shuffle(sentences)
        headings = rng.sample(bank["headings"], rng.randint(2, 3))
        parts = head
        share = max(1, math.ceil(len(sentences) / len(headings)))
        for index, heading in enumerate(headings):
            chunk = sentences[index * share : (index + 1) * share]
            if not chunk:
                break
            if rng.random() < 0.5:
                text = "\n".join(f"- {s}" for s in chunk)
            else:
                text = " ".join(chunk)
            parts.append(f"### {heading}\n\n{text}")
        if example:
            parts.append(example)
        if rng.random() < 0.5 * frame:
            parts.append(closer)
        return "\n\n".join(parts)

    def candidate_set(self, rng: random.Random, about: str, junk_rate: float):
        """Four distinct candidates: (cells as shown, released texts, poles)."""
        while True:
            poles = [rng.choice(POLES) for _ in LETTERS]
            texts = [self.response(rng, about, pole) for pole in poles]
            if len(set(texts)) == len(texts):
                break
        cells = [text + END_OF_TEXT if rng.random() < junk_rate else text for text in texts]
        return cells, texts, poles

    # explanations ----------------------------------------------------------------------------

    def feedback(self, rng: random.Random, chosen: int) -> str:
        """An explanation in the language, median about 50 words; may have quotes and newlines."""
        bank = self.bank
        others = [letter for i, letter in enumerate(LETTERS) if i != chosen]
        slots = {
            "letter": LETTERS[chosen],
            "other": rng.choice(others),
            "fquote": rng.choice(bank["fquotes"]),
        }
        count = min(len(bank["feedback"]), max(1, round(rng.lognormvariate(1.35, 0.45))))
        picked = rng.sample(bank["feedback"], count)
        sentences = [s.format_map(slots) if "{" in s else s for s in picked]
        style = rng.random()
        if style < 0.12 and len(sentences) > 1:
            cut = rng.randint(1, len(sentences) - 1)
            return " ".join(sentences[:cut]) + "\n\n" + " ".join(sentences[cut:])
        if style < 0.2:
            return "\n".join(sentences)
        text = " ".join(sentences)
        if style > 0.93:  # typed quickly: lower case, no final stop
            text = text[0].lower() + text[1:].rstrip(".।")
        return text
