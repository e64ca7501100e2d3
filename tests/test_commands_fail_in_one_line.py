"""Every command on bad input prints one line naming the input and the problem, and exits
non-zero (no traceback)."""

from __future__ import annotations

import shutil

import pytest

from builder.__main__ import main as builder_main
from community_alignment.cli import main as library_main
from tests.conftest import MIXED_ROWS, built_release

CLOSED_HUB = "http://127.0.0.1:9"  # the discard port: nothing listens, so a request fails at once


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    release = built_release(tmp_path_factory, "fails", MIXED_ROWS)
    root = tmp_path_factory.mktemp("bad")
    corrupt = root / "corrupt"
    shutil.copytree(release, corrupt)
    shard = sorted((corrupt / "data" / "comparisons").rglob("*.parquet"))[0]
    shard.write_bytes(b"not parquet")
    (root / "not_a_release").mkdir()
    (root / "labels.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (root / "predictions.csv").write_text("item_id,a,b,c,d\nnot-a-unit,1,0,0,0\n", encoding="utf-8")
    (root / "raw.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    return {"release": release, "root": root, "corrupt": corrupt}


def one_line(capsys, code: int, *named: str, stream: str = "err") -> str:
    captured = getattr(capsys.readouterr(), stream)
    lines = [line for line in captured.splitlines() if line.strip()]
    assert code != 0
    assert len(lines) == 1, captured
    assert "Traceback" not in captured
    for name in named:
        assert name in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["build", "--source", "{root}/missing.csv", "--out", "{root}/out"], "does not exist"),
        (["build", "--source", "{root}/raw.csv", "--out", "{root}/out"], "the header lacks"),
        (["validate", "{root}/missing"], "is not a folder"),
        (["validate", "{root}/not_a_release"], "is not a release folder"),
    ],
)
def test_builder_commands(folders, capsys, argv, said):
    argv = [a.format(root=folders["root"]) for a in argv]
    line = one_line(capsys, builder_main(argv), said)
    assert line.startswith(f"{argv[0]} failed: ")


def test_publish_of_a_folder_that_is_not_a_release_is_refused_in_one_line(folders, capsys):
    where = str(folders["root"] / "not_a_release")
    argv = ["publish", where, "--repo-id", "org/name"]
    line = one_line(capsys, builder_main(argv), where, "is not a release folder", stream="out")
    assert line.startswith("publish refused: ")


def test_builder_validate_of_an_unreachable_hub_path(monkeypatch, capsys):
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", CLOSED_HUB)
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "2")
    line = one_line(
        capsys, builder_main(["validate", "hf://datasets/org/name"]), "hf://datasets/org/name"
    )
    assert line.startswith("validate failed: cannot read hf://datasets/org/name: ")


@pytest.mark.parametrize("command", ["describe", "agreement", "iw"])
@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("{root}/missing", "is not a release folder"),
        ("{root}/not_a_release", "is not a release folder"),
        ("{corrupt}", "cannot read"),
    ],
)
def test_library_commands_on_what_is_not_a_readable_release(folders, capsys, command, where, said):
    where = where.format(**folders)
    one_line(capsys, library_main([command, where]), where.split("/")[-1], said)


def test_library_command_on_an_unreachable_hub_path(monkeypatch, capsys):
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_HUB)
    one_line(
        capsys,
        library_main(["describe", "hf://datasets/org/name"]),
        "cannot read hf://datasets/org/name",
    )


def test_bad_labels_and_predictions_files(folders, capsys):
    root, release = folders["root"], str(folders["release"])
    one_line(capsys, library_main(["iw", release, "--labels", f"{root}/labels.csv"]), "labels.csv")
    one_line(capsys, library_main(["iw", release, "--labels", f"{root}/none.csv"]), "none.csv")
    one_line(
        capsys, library_main(["evaluate", release, "--predictions", f"{root}/none.csv"]), "none.csv"
    )
    one_line(
        capsys,
        library_main(["evaluate", release, "--predictions", f"{root}/predictions.csv"]),
        "predictions.csv",
    )
