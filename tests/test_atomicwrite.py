"""write_atomic: the user's file ends up complete with the new bytes, or untouched; mode and symlinks survive."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpt_tools import atomicwrite
from gpt_tools.atomicwrite import write_atomic


@pytest.fixture
def umask() -> Iterator[int]:
    """A known umask for the test, restored afterwards."""
    old = os.umask(0o022)
    try:
        yield 0o022
    finally:
        os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def names(folder: Path) -> set[str]:
    return {entry.name for entry in folder.iterdir()}


def test_writes_new_file_with_mode_from_umask(isolated_env: Path, umask: int) -> None:
    target = isolated_env / "new.md"
    write_atomic(target, b"# New\n")
    assert target.read_bytes() == b"# New\n"
    assert mode_of(target) == 0o666 & ~umask
    assert names(isolated_env) == {"new.md"}


def test_new_file_respects_a_strict_umask(isolated_env: Path) -> None:
    old = os.umask(0o077)
    try:
        write_atomic(isolated_env / "private.md", b"x")
    finally:
        os.umask(old)
    assert mode_of(isolated_env / "private.md") == 0o600


def test_accepts_str_path(isolated_env: Path) -> None:
    write_atomic(str(isolated_env / "s.txt"), b"str path")
    assert (isolated_env / "s.txt").read_bytes() == b"str path"


@pytest.mark.parametrize("mode", [0o640, 0o755, 0o600, 0o444])
def test_replaces_existing_keeping_its_mode(isolated_env: Path, umask: int, mode: int) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"old content that is longer than the new one\n")
    target.chmod(mode)
    write_atomic(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert mode_of(target) == mode
    assert names(isolated_env) == {"doc.md"}


def test_executable_script_stays_executable(isolated_env: Path, umask: int) -> None:
    script = isolated_env / "run.sh"
    script.write_bytes(b"#!/bin/sh\necho old\n")
    script.chmod(0o755)
    write_atomic(script, b"#!/bin/sh\necho new\n")
    assert os.access(script, os.X_OK)
    assert mode_of(script) == 0o755


def test_replacement_is_a_new_inode_not_a_truncation(isolated_env: Path) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"old\n")
    with target.open("rb") as reader:  # a reader holding the old file still sees the old bytes
        write_atomic(target, b"new\n")
        assert reader.read() == b"old\n"
    assert target.read_bytes() == b"new\n"


def test_empty_data_gives_empty_file(isolated_env: Path) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"something\n")
    write_atomic(target, b"")
    assert target.read_bytes() == b""


def test_binary_bytes_written_verbatim(isolated_env: Path) -> None:
    data = "\ufeff# T\r\n\r\ncafé\r\n".encode() + bytes(range(256))
    write_atomic(isolated_env / "b.bin", data)
    assert (isolated_env / "b.bin").read_bytes() == data


def test_writes_through_symlink_keeping_the_link(isolated_env: Path, umask: int) -> None:
    real_dir = isolated_env / "real"
    real_dir.mkdir()
    real = real_dir / "doc.md"
    real.write_bytes(b"old\n")
    real.chmod(0o640)
    link = isolated_env / "link.md"
    link.symlink_to(real)
    write_atomic(link, b"new\n")
    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert real.read_bytes() == b"new\n"
    assert link.read_bytes() == b"new\n"
    assert mode_of(real) == 0o640
    # The temp file lived (and died) next to the real file, not next to the link.
    assert names(isolated_env) == {"real", "link.md"}
    assert names(real_dir) == {"doc.md"}


def test_writes_through_relative_symlink_chain(isolated_env: Path) -> None:
    (isolated_env / "doc.md").write_bytes(b"old\n")
    (isolated_env / "hop.md").symlink_to("doc.md")
    (isolated_env / "link.md").symlink_to("hop.md")
    write_atomic(isolated_env / "link.md", b"new\n")
    assert (isolated_env / "link.md").is_symlink()
    assert (isolated_env / "hop.md").is_symlink()
    assert os.readlink(isolated_env / "link.md") == "hop.md"
    assert (isolated_env / "doc.md").read_bytes() == b"new\n"


def test_relative_path_uses_working_directory(isolated_env: Path) -> None:
    write_atomic("rel.md", b"relative\n")
    assert (isolated_env / "rel.md").read_bytes() == b"relative\n"


def test_no_temp_files_left_after_many_writes(isolated_env: Path) -> None:
    target = isolated_env / "doc.md"
    for i in range(20):
        write_atomic(target, f"version {i}\n".encode())
    assert target.read_bytes() == b"version 19\n"
    assert names(isolated_env) == {"doc.md"}


def test_failed_replace_leaves_original_and_no_temp(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = isolated_env / "doc.md"
    original = b"# Original\r\n\r\nKeep me byte for byte.\r\n"
    target.write_bytes(original)
    target.chmod(0o640)

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomicwrite.os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, b"new content\n")
    assert target.read_bytes() == original
    assert mode_of(target) == 0o640
    assert names(isolated_env) == {"doc.md"}


def test_failed_fsync_leaves_original_and_no_temp(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"original\n")

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(atomicwrite.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        write_atomic(target, b"new\n")
    assert target.read_bytes() == b"original\n"
    assert names(isolated_env) == {"doc.md"}


def test_interrupt_during_write_leaves_original_and_no_temp(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"original\n")

    def interrupted_chmod(path: object, mode: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(atomicwrite.os, "chmod", interrupted_chmod)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"new\n")
    assert target.read_bytes() == b"original\n"
    assert names(isolated_env) == {"doc.md"}


def test_failed_new_file_write_creates_nothing(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_replace(src: object, dst: object) -> None:
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(atomicwrite.os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(isolated_env / "new.md", b"data\n")
    assert names(isolated_env) == set()


def test_missing_directory_raises_and_creates_nothing(isolated_env: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(isolated_env / "no" / "such" / "dir" / "f.md", b"x")
    assert names(isolated_env) == set()
