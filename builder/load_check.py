"""Load every config and split of a release with plain ``datasets.load_dataset``, as users do.

It imports nothing of this project, so CI can run it under the oldest ``datasets`` the release
promises to support (4.0.0, the first without loading scripts) in a venv of its own:

    python builder/load_check.py RELEASE_DIR
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def load_everything(release: Path) -> list[tuple[str, str, int]]:
    """(config, split, rows) for every config of the card, loaded offline with all checks."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import datasets
    import yaml

    datasets.disable_progress_bars()
    front = (release / "README.md").read_text(encoding="utf-8").split("---")[1]
    configs = [entry["config_name"] for entry in yaml.safe_load(front)["configs"]]
    loaded = []
    with tempfile.TemporaryDirectory() as cache:
        for config in configs:
            splits = datasets.load_dataset(
                str(release), config, verification_mode="all_checks", cache_dir=cache
            )
            loaded += [(config, split, rows.num_rows) for split, rows in splits.items()]
    return loaded


def main(argv: list[str]) -> int:
    import datasets

    loaded = load_everything(Path(argv[0]))
    print(f"datasets {datasets.__version__}: {len(loaded)} splits of "
          f"{len({c for c, _, _ in loaded})} configs loaded with verification_mode=all_checks")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
