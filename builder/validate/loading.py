"""The loading check: every config and split loads offline with ``datasets.load_dataset``,
with the rows its files hold."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from builder.validate.reader import Release, first_line
from builder.validate.registry import Problem, check


@contextmanager
def offline() -> Iterator[None]:
    """Hub access off (environment and the already-imported libraries' constants), then restored."""
    import datasets.config
    import huggingface_hub.constants

    names = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    saved_env = {n: os.environ.get(n) for n in names}
    targets = [
        (m, n) for m in (datasets.config, huggingface_hub.constants) for n in names if hasattr(m, n)
    ]
    saved = [(m, n, getattr(m, n)) for m, n in targets]
    os.environ.update(dict.fromkeys(names, "1"))
    for module, name in targets:
        setattr(module, name, True)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@check("load_dataset", "loading", needs=("card",))
def _load_dataset(release: Release):
    """Every config and split loads offline with datasets.load_dataset, with the right rows.

    Fix: the config must load with datasets.load_dataset(..., verification_mode='all_checks')
    """
    import datasets

    bars = datasets.is_progress_bar_enabled()
    verbosity = datasets.logging.get_verbosity()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    cache = tempfile.mkdtemp(prefix="validate-cache-")
    try:
        with offline():
            for name, _, splits in release.configs:
                try:
                    loaded = datasets.load_dataset(
                        str(release.root), name, verification_mode="all_checks", cache_dir=cache
                    )
                except Exception as error:  # noqa: BLE001 - the failure is the finding
                    yield Problem(f"config {name}", f"does not load: {first_line(error)}")
                    continue
                if set(loaded) != set(splits):
                    yield Problem(
                        f"config {name}",
                        f"loads splits {sorted(loaded)}, the card has {sorted(splits)}",
                    )
                for split, patterns in splits.items():
                    rows = sum(
                        release.rows_of.get(f, 0) for p in patterns for f in release.matched(p)
                    )
                    if split in loaded and loaded[split].num_rows != rows:
                        yield Problem(
                            f"{name}/{split}",
                            f"loads {loaded[split].num_rows} rows, its files hold {rows}",
                        )
                del loaded
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        datasets.logging.set_verbosity(verbosity)
        if bars:
            datasets.enable_progress_bars()
