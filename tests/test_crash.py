"""A build killed mid-write leaves the previous release intact; the next build succeeds."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from builder.build import build
from tests.conftest import raw_row, write_raw

ROOT = Path(__file__).resolve().parent.parent


def test_killed_build_leaves_previous_release_intact_and_rerun_succeeds(tmp_path):
    small = write_raw(tmp_path / "small.csv", [raw_row("1")])
    build(small, tmp_path / "release")
    before = {p.relative_to(tmp_path / "release"): p.read_bytes()
              for p in (tmp_path / "release").rglob("*") if p.is_file()}  # fmt: skip
    rows = [raw_row(str(i), str(i % 50), turns=1 + i % 4) for i in range(6000)]
    large = write_raw(tmp_path / "large.csv", rows)
    process = subprocess.Popen(
        [sys.executable, "-m", "builder", "build", "--source", str(large), "--out",
         str(tmp_path / "release")],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if any(tmp_path.glob(".release.tmp-*/data/**/*.parquet")):
            break  # it is writing release files
        time.sleep(0.005)
    assert process.poll() is None, "the build ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    after = {p.relative_to(tmp_path / "release"): p.read_bytes()
             for p in (tmp_path / "release").rglob("*") if p.is_file()}  # fmt: skip
    assert after == before
    result = build(large, tmp_path / "release")
    assert result.report["books"]["conversations_released"] == 6000
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_release_moved_aside_by_a_kill_during_the_swap_is_restored(tmp_path):
    import pytest

    from builder.release import staged

    small = write_raw(tmp_path / "small.csv", [raw_row("1")])
    build(small, tmp_path / "release")
    card = (tmp_path / "release" / "README.md").read_bytes()
    (tmp_path / "release").rename(tmp_path / ".release.old-4242")  # the state a kill leaves
    with pytest.raises(RuntimeError), staged(tmp_path / "release"):
        raise RuntimeError("this build fails too")
    assert (tmp_path / "release" / "README.md").read_bytes() == card
