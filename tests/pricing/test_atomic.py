"""Atomic output: a missing folder is bad input, errors name the target, modes are usual ones."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import CommitoptInputError
from pricing.atomic import write_text_atomic


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_missing_folder_is_bad_input_naming_the_target(tmp_path: Path) -> None:
    target = tmp_path / "nodir" / "plan.json"
    with pytest.raises(CommitoptInputError, match=r"plan\.json: folder .*nodir does not exist"):
        write_text_atomic(target, "{}")
    assert not target.parent.exists()


def test_a_new_file_gets_the_umask_mode_and_an_old_one_keeps_its_own(
    tmp_path: Path, umask_022: None
) -> None:
    new = tmp_path / "plan.json"
    write_text_atomic(new, "{}")
    assert _mode(new) == 0o644  # mkstemp alone gives 0600
    old = tmp_path / "private.json"
    old.write_text("[]")
    old.chmod(0o600)
    write_text_atomic(old, "{}")
    assert _mode(old) == 0o600 and old.read_text() == "{}"


def test_a_folder_that_refuses_the_file_is_named_by_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(**kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".plan.json.x.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError) as caught:
        write_text_atomic(tmp_path / "plan.json", "{}")
    assert caught.value.filename == str(tmp_path / "plan.json")
    assert caught.value.errno == errno.EACCES
