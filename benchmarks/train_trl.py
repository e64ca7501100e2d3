"""Train a tiny local model with TRL for a few steps on each TRL config of a built release:
DPOTrainer and RewardTrainer on `pairs`, KTOTrainer on `unpaired`, SFTTrainer on `messages`,
GRPOTrainer on `prompts`. Nothing is downloaded: the tokenizer is trained on the release's
text and the model is a randomly initialised 2-layer Llama.

Not a test (TRL, transformers and torch are not dependencies of the project). Run it where
they are installed, on a release folder (`python -m builder build ...`):

    python benchmarks/train_trl.py RELEASE [--split us] [--steps 3]

It prints one markdown table row per trainer (rows, steps, seconds, last loss) for
benchmarks/RESULTS.md, and exits non-zero when a trainer fails.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL = ["<|pad|>", "<|unk|>", "<|end|>", "<|user|>", "<|assistant|>"]


def tokenizer_from(release: Path, split: str):
    """A byte-level BPE tokenizer trained on the split's comparisons, with a chat template."""
    from datasets import load_dataset
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    comparisons = load_dataset(str(release), "comparisons", split=split)

    def texts():
        for row in comparisons:
            yield row["prompt"]
            yield from (r for r in row["responses"] if r)

    bpe = Tokenizer(models.BPE(unk_token="<|unk|>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        texts(), trainers.BpeTrainer(vocab_size=2000, special_tokens=SPECIAL, show_progress=False)
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, pad_token="<|pad|>", unk_token="<|unk|>", eos_token="<|end|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_model(tokenizer, reward: bool = False):
    """A randomly initialised 2-layer Llama (a causal LM, or a one-score classifier)."""
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification

    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, num_labels=1,
    )  # fmt: skip
    return (LlamaForSequenceClassification if reward else LlamaForCausalLM)(config)


def saved(model, tokenizer, folder: Path) -> str:
    """The model saved in ``folder``, as the path trainers load it from: DPO and KTO load
    their reference model from the policy's path, which an unsaved model lacks."""
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def _trl(name: str):
    """A trainer and its config from trl, or from trl.experimental where newer releases moved
    it."""
    import trl

    if hasattr(trl, name):
        return getattr(trl, name), getattr(trl, name.replace("Trainer", "Config"))
    import importlib

    module = importlib.import_module(f"trl.experimental.{name.replace('Trainer', '').lower()}")
    return getattr(module, name), getattr(module, name.replace("Trainer", "Config"))


def country_share(completions, responses, country_picks, **kwargs):
    """As the card's GRPO example: the share of the country's picks that went to the
    candidate sharing most words with the generation."""

    def words(text):
        return set((text or "").lower().split())

    rewards = []
    for completion, candidates, picks in zip(completions, responses, country_picks, strict=True):
        said = words(completion[-1]["content"])
        overlap = [len(said & words(c)) / max(1, len(said | words(c))) for c in candidates]
        nearest = max(range(len(candidates)), key=lambda k: (overlap[k], -k))
        rewards.append(picks[nearest] / max(1, sum(picks)))
    return rewards


def runs(release: Path, split: str, steps: int, out: Path):
    """(trainer, config, a function that trains and returns (rows, trainer state))."""
    from datasets import load_dataset

    tokenizer = tokenizer_from(release, split)
    common = {
        "max_steps": steps, "per_device_train_batch_size": 2, "logging_steps": 1,
        "report_to": "none", "save_strategy": "no", "use_cpu": True, "seed": 0,
    }  # fmt: skip

    def data(config: str, columns: list[str]):
        return load_dataset(str(release), config, split=split).select_columns(columns)

    def dpo():
        trainer, config = _trl("DPOTrainer")
        dataset = data("pairs", ["prompt", "chosen", "rejected"])
        args = config(output_dir=str(out / "dpo"), max_length=256, **common)
        model = saved(tiny_model(tokenizer), tokenizer, out / "dpo-model")
        run = trainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        return dataset.num_rows, run

    def reward():
        trainer, config = _trl("RewardTrainer")
        dataset = data("pairs", ["prompt", "chosen", "rejected"])
        args = config(output_dir=str(out / "reward"), max_length=256, **common)
        model = tiny_model(tokenizer, reward=True)
        run = trainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        return dataset.num_rows, run

    def kto():
        trainer, config = _trl("KTOTrainer")
        dataset = data("unpaired", ["prompt", "completion", "label"])
        args = config(output_dir=str(out / "kto"), max_length=256, **common)
        model = saved(tiny_model(tokenizer), tokenizer, out / "kto-model")
        run = trainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        return dataset.num_rows, run

    def sft():
        trainer, config = _trl("SFTTrainer")
        dataset = data("messages", ["messages"])
        args = config(output_dir=str(out / "sft"), max_length=256, **common)
        model = tiny_model(tokenizer)
        run = trainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        return dataset.num_rows, run

    def grpo():
        trainer, config = _trl("GRPOTrainer")
        dataset = data("prompts", ["prompt", "responses", "country_picks"])
        args = config(
            output_dir=str(out / "grpo"), num_generations=2, max_completion_length=16, **common
        )
        model = tiny_model(tokenizer)
        run = trainer(
            model=model, reward_funcs=country_share, args=args, train_dataset=dataset,
            processing_class=tokenizer,
        )  # fmt: skip
        return dataset.num_rows, run

    return [
        ("DPOTrainer", "pairs", dpo),
        ("RewardTrainer", "pairs", reward),
        ("KTOTrainer", "unpaired", kto),
        ("SFTTrainer", "messages", sft),
        ("GRPOTrainer", "prompts", grpo),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("release", type=Path, help="a built release folder")
    parser.add_argument("--split", default="us", help="the country split to train on")
    parser.add_argument("--steps", type=int, default=3, help="optimiser steps per trainer")
    options = parser.parse_args(argv)
    if not (options.release / "data").is_dir():
        parser.error(f"{options.release}: not a release folder (no data/)")

    import datasets
    import torch
    import transformers
    import trl

    print(
        f"Python {platform.python_version()}, torch {torch.__version__}, transformers "
        f"{transformers.__version__}, trl {trl.__version__}, datasets {datasets.__version__}; "
        f"split `{options.split}`, {options.steps} steps each, CPU\n"
    )
    print("| trainer | config | rows | steps | seconds | last loss | |")
    print("|---|---|---:|---:|---:|---:|---|")
    failed = 0
    with tempfile.TemporaryDirectory() as out:
        for name, config, train in runs(options.release, options.split, options.steps, Path(out)):
            start = time.perf_counter()
            try:
                # the trainers print their logs: they go to stderr, the table to stdout
                with contextlib.redirect_stdout(sys.stderr):
                    rows, trainer = train()
                    trainer.train()
            except Exception as error:  # a trainer that fails is reported, the others still run
                failed += 1
                traceback.print_exc(file=sys.stderr)
                seconds = time.perf_counter() - start
                why = f"{type(error).__name__}: {error}".splitlines()[0][:120]
                print(f"| {name} | `{config}` | | | {seconds:.1f} | | failed: {why} |")
                continue
            seconds = time.perf_counter() - start
            losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
            loss = f"{losses[-1]:.4f}" if losses else "n/a"
            steps = trainer.state.global_step
            print(f"| {name} | `{config}` | {rows:,} | {steps} | {seconds:.1f} | {loss} | ok |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
