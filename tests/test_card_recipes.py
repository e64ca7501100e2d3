"""The card's TRL recipes, run as written on every split of the embedded sample's release,
with stand-ins for TRL and transformers (neither is a test dependency) that check what the
real trainers would be given: a non-empty training set in the trainer's format, and an
evaluation set that is None or holds annotators the training set does not."""

from __future__ import annotations

import re
import sys
import types

import datasets
import pytest

from tests import test_trl_configs
from tests.test_trl_configs import assert_completion, assert_prompt, is_message

built = test_trl_configs.built  # the sample's release, built once for this module

START, END = "**Training with TRL.**", "**The same files with polars or DuckDB**"
COLUMNS = {
    "DPOTrainer": {
        "prompt": assert_prompt,
        "chosen": assert_completion,
        "rejected": assert_completion,
    },
    "KTOTrainer": {"prompt": assert_prompt, "completion": assert_completion},
    "SFTTrainer": {"messages": None},
    "GRPOTrainer": {"prompt": assert_prompt},
}


def recipes(card: str) -> list[str]:
    section = card[card.index(START) : card.index(END)]
    return re.findall(r"^```python\n(.*?)^```$", section, flags=re.M | re.S)


def assert_conversation(messages: list[dict]) -> None:
    assert messages and all(is_message(m) for m in messages), messages
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant"] * (len(roles) // 2), roles


class Trainer:
    """Checks its datasets as the named TRL trainer would need them; records itself."""

    made: list = []

    def __init__(self, *, model, args, train_dataset, eval_dataset=None, **kwargs):
        name = type(self).__name__
        assert len(train_dataset) > 0, f"{name}: empty training set"
        for column, rule in COLUMNS[name].items():
            for value in train_dataset[column]:
                (rule or assert_conversation)(value)
        if eval_dataset is not None:
            assert len(eval_dataset) > 0, f"{name}: empty evaluation set"
            assert not set(train_dataset["fold"]) & set(eval_dataset["fold"])
        if name == "KTOTrainer":
            assert set(train_dataset["label"]) == {True, False}
        if name == "GRPOTrainer":
            self._reward(kwargs["reward_funcs"], train_dataset)
        Trainer.made.append((name, args.output_dir, len(train_dataset), eval_dataset is not None))

    @staticmethod
    def _reward(reward, dataset) -> None:
        """A generation equal to a candidate earns that candidate's share of the country's
        picks (when no other candidate says the same words)."""
        rows = dataset.select(range(min(20, len(dataset))))
        for k in range(4):
            completions = [
                [{"role": "assistant", "content": r[k] or ""}] for r in rows["responses"]
            ]
            columns = {c: rows[c] for c in rows.column_names if c != "prompt"}
            rewards = reward(completions=completions, prompts=rows["prompt"], **columns)
            assert len(rewards) == len(rows) and all(0 <= r <= 1 for r in rewards)
            for reward_k, responses, picks in zip(
                rewards, rows["responses"], rows["country_picks"], strict=True
            ):
                if responses[k] and responses.count(responses[k]) == 1:
                    assert reward_k == pytest.approx(picks[k] / max(1, sum(picks)))

    def train(self) -> None:
        pass


def fake_modules(release) -> dict[str, types.ModuleType]:
    trl = types.ModuleType("trl")
    for name in COLUMNS:
        setattr(trl, name, type(name, (Trainer,), {}))
        config = name.replace("Trainer", "Config")
        setattr(
            trl, config, lambda output_dir, **kwargs: types.SimpleNamespace(output_dir=output_dir)
        )
    transformers = types.ModuleType("transformers")
    loader = types.SimpleNamespace(from_pretrained=lambda model_id, **kwargs: object())
    transformers.AutoModelForCausalLM = transformers.AutoTokenizer = loader
    # datasets looks for this when it hashes a filter's function
    transformers.PreTrainedTokenizerBase = type("PreTrainedTokenizerBase", (), {})
    return {"trl": trl, "transformers": transformers}


def splits(release) -> list[str]:
    return sorted(p.name.split("-")[0] for p in (release / "data" / "prompts").rglob("*.parquet"))


def test_the_card_has_a_recipe_per_trl_config(built):
    code = recipes((built / "README.md").read_text(encoding="utf-8"))
    assert len(code) == 4
    for config in ("pairs", "unpaired", "messages", "prompts"):
        assert any(f'"{config}", split=split' in block for block in code), config


@pytest.mark.parametrize("country", ["us", "fr", "it", "br", "in"])
def test_every_recipe_runs_on_every_split_of_the_sample(built, country, monkeypatch, tmp_path):
    assert country in splits(built)
    card = (built / "README.md").read_text(encoding="utf-8")
    repo_id = re.search(r'load_dataset\("([^"]+)", "pairs"', card).group(1)
    for name, module in fake_modules(built).items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    real = datasets.load_dataset

    def load_dataset(path, config, split):
        assert path == repo_id
        return real(str(built), config, split=split, cache_dir=str(tmp_path / "hf-cache"))

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    Trainer.made = []
    namespace: dict = {}
    for block in recipes(card):
        exec(
            compile(block.replace('split = "us"', f'split = "{country}"'), "card", "exec"),
            namespace,
        )  # noqa: S102
    made = {name: (output, rows, held) for name, output, rows, held in Trainer.made}
    assert list(made) == ["DPOTrainer", "KTOTrainer", "SFTTrainer", "GRPOTrainer"]
    assert all(output.endswith(f"-{country}") for output, _, _ in made.values())
    # a split with annotators in two folds or more has an evaluation set of whole annotators
    pairs = real(str(built), "pairs", split=country, cache_dir=str(tmp_path / "hf-cache"))
    pairs = pairs.filter(lambda row: row["is_pregenerated_first_prompt"])
    assert made["DPOTrainer"][2] == (len(set(pairs["fold"])) > 1)
