"""write_atomic: the user's file ends up complete with the new bytes, or untouched; never over an edit made
meanwhile, never over what is not a regular file; mode, owner, xattrs and symlinks survive."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpt_tools.state import atomicwrite
from gpt_tools.state.atomicwrite import write_atomic


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


@pytest.mark.parametrize("mode", [0o640, 0o755, 0o600, 0o200])
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

    def interrupted_chmod(fd: int, mode: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(atomicwrite.os, "fchmod", interrupted_chmod)
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


# --- what is not a plain, writable, singly linked regular file -------------------------------------------


@pytest.mark.parametrize("mode", [0o444, 0o555, 0o400])
def test_read_only_file_is_refused_even_for_root(isolated_env: Path, mode: int) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"keep\n")
    target.chmod(mode)
    with pytest.raises(atomicwrite.ReadOnlyFile) as caught:
        write_atomic(target, b"new\n")
    assert caught.value.path == str(target)
    assert target.read_bytes() == b"keep\n" and mode_of(target) == mode
    with pytest.raises(atomicwrite.ReadOnlyFile):
        atomicwrite.check_writable(target)


def test_immutable_file_is_refused(isolated_env: Path) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"keep\n")
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(target)], check=False).returncode:
        pytest.skip("chattr +i needs root and a filesystem that supports it")
    try:
        with pytest.raises(atomicwrite.ReadOnlyFile):
            write_atomic(target, b"new\n")
        assert target.read_bytes() == b"keep\n"
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)


def test_identical_content_is_not_rewritten(isolated_env: Path) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"same\n")
    target.chmod(0o444)  # nothing to write, so nothing to refuse either
    before = target.stat()
    assert write_atomic(target, b"same\n") == atomicwrite.Written(changed=False)
    after = target.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_hard_linked_file_is_refused_and_both_names_keep_their_text(isolated_env: Path) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"shared\n")
    os.link(target, isolated_env / "other.md")
    with pytest.raises(atomicwrite.HardLinked):
        write_atomic(target, b"new\n")
    assert target.stat().st_nlink == 2
    assert (isolated_env / "other.md").read_bytes() == b"shared\n"


def test_directory_and_socket_are_refused(isolated_env: Path) -> None:
    (isolated_env / "dir.md").mkdir()
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(isolated_env / "sock.md"))
    try:
        for name in ("dir.md", "sock.md"):
            with pytest.raises(atomicwrite.NotAFile):
                write_atomic(isolated_env / name, b"x")
    finally:
        listener.close()
    assert (isolated_env / "dir.md").is_dir()
    assert stat.S_ISSOCK((isolated_env / "sock.md").lstat().st_mode)


def test_fifo_is_written_through_and_stays_a_fifo(isolated_env: Path) -> None:
    fifo = isolated_env / "pipe.md"
    os.mkfifo(fifo)
    received: list[bytes] = []
    # A daemon: if the pipe were replaced, its reader would wait forever on the old one.
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_atomic(fifo, b"through the pipe\n")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    reader.join(timeout=30)
    assert received == [b"through the pipe\n"]
    assert names(isolated_env) == {"pipe.md"}


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_character_device_is_written_through_not_replaced(isolated_env: Path) -> None:
    device = isolated_env / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null
    link = isolated_env / "out.md"
    link.symlink_to(device)
    write_atomic(link, b"discarded\n")
    assert stat.S_ISCHR(device.lstat().st_mode)
    assert link.is_symlink()
    assert names(isolated_env) == {"null", "out.md"}


def _write_in_child(target: str, stdout: int) -> None:
    code = f"from gpt_tools.state.atomicwrite import write_atomic; write_atomic({target!r}, b'result\\n')"
    subprocess.run([sys.executable, "-c", code], stdout=stdout, check=True, timeout=60)


@pytest.mark.parametrize("target", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_stdout_paths_write_to_the_descriptor_not_over_the_file(isolated_env: Path, target: str) -> None:
    log = isolated_env / "log.txt"
    log.write_bytes(b"before\n")
    inode = log.stat().st_ino
    with log.open("ab") as appended:  # `>> log.txt`: replacing the file would lose "before"
        _write_in_child(target, appended.fileno())
    assert log.read_bytes() == b"before\nresult\n"
    assert log.stat().st_ino == inode
    assert names(isolated_env) == {"log.txt"}


def test_stdout_path_writes_into_a_pipe(isolated_env: Path) -> None:
    code = "from gpt_tools.state.atomicwrite import write_atomic; write_atomic('/dev/stdout', b'piped\\n')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, timeout=60)
    assert done.stdout == b"piped\n"


# --- what the new file keeps -------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_owner_and_group_are_kept_as_root(isolated_env: Path) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"old\n")
    os.chown(target, 4321, 4322)
    target.chmod(0o2664)  # chown clears set-id bits: the mode must be set after it
    assert write_atomic(target, b"new\n").lost == ()
    info = target.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 4322, 0o2664)


def test_owner_that_cannot_be_kept_is_reported(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"old\n")
    monkeypatch.setattr(atomicwrite.os, "geteuid", lambda: 4000)  # as a user who owns neither
    monkeypatch.setattr(atomicwrite.os, "getegid", lambda: 4000)

    def refused(fd: int, uid: int, gid: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(atomicwrite.os, "fchown", refused)
    assert write_atomic(target, b"new\n").lost == ("owner", "group")
    assert target.read_bytes() == b"new\n"


def test_extended_attributes_are_kept(isolated_env: Path) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"old\n")
    try:
        os.setxattr(target, "user.origin", b"kept")
    except OSError:
        pytest.skip("this filesystem has no user xattrs")
    assert write_atomic(target, b"new\n").lost == ()
    assert os.getxattr(target, "user.origin") == b"kept"


def test_attribute_that_cannot_be_kept_is_reported(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"old\n")
    monkeypatch.setattr(atomicwrite.os, "listxattr", lambda path: ["security.label"])
    monkeypatch.setattr(atomicwrite.os, "getxattr", lambda path, name: b"x")

    def refused(fd: int, name: str, value: bytes) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(atomicwrite.os, "setxattr", refused)
    assert write_atomic(target, b"new\n").lost == ("xattr security.label",)


def test_private_write_takes_group_and_other_bits_away(isolated_env: Path) -> None:
    target = isolated_env / "talk.json"
    target.write_bytes(b"{}")
    target.chmod(0o644)
    write_atomic(target, b"[]", private=True)
    assert mode_of(target) == 0o600


@pytest.mark.parametrize("length", [242, 250, 255])
def test_long_names_get_a_temp_name_that_fits(isolated_env: Path, length: int) -> None:
    target = isolated_env / ("é" * ((length - 3) // 2) + "x" * ((length - 3) % 2) + ".md")
    assert len(os.fsencode(target.name)) == length
    target.write_bytes(b"old\n")
    write_atomic(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert names(isolated_env) == {target.name}


def test_named_temp_fallback_when_unnamed_files_are_unsupported(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def no_tmpfile(path: object, flags: int, mode: int = 0o777) -> int:
        if flags & getattr(os, "O_TMPFILE", 0) == getattr(os, "O_TMPFILE", -1):
            raise OSError(95, "Operation not supported")
        return real_open(path, flags, mode)  # type: ignore[arg-type]

    monkeypatch.setattr(atomicwrite.os, "open", no_tmpfile)
    target = isolated_env / ("n" * 255)
    target.write_bytes(b"old\n")
    write_atomic(target, b"new\n", expect=b"old\n")
    write_atomic(isolated_env / "fresh.md", b"x", expect=atomicwrite.ABSENT)
    assert target.read_bytes() == b"new\n"
    assert names(isolated_env) == {target.name, "fresh.md"}


# --- edits made meanwhile are never overwritten ------------------------------------------------------------


def test_expect_matching_content_writes(isolated_env: Path) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"old\n")
    assert atomicwrite.snapshot(target) == b"old\n"
    assert write_atomic(target, b"new\n", expect=b"old\n").changed
    assert target.read_bytes() == b"new\n"


def test_edit_made_meanwhile_is_kept(isolated_env: Path) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"old\n")
    seen = atomicwrite.snapshot(target)
    target.write_bytes(b"old\n\nA paragraph the user saved meanwhile.\n")
    with pytest.raises(atomicwrite.ChangedMeanwhile):
        write_atomic(target, b"fixed\n", expect=seen)
    assert target.read_bytes() == b"old\n\nA paragraph the user saved meanwhile.\n"
    assert names(isolated_env) == {"doc.md"}


def test_file_deleted_or_created_meanwhile_is_left_alone(isolated_env: Path) -> None:
    target = isolated_env / "doc.md"
    assert atomicwrite.snapshot(target) is atomicwrite.ABSENT
    target.write_bytes(b"created by someone else\n")
    with pytest.raises(atomicwrite.ChangedMeanwhile):
        write_atomic(target, b"ours\n", expect=atomicwrite.ABSENT)
    assert target.read_bytes() == b"created by someone else\n"
    target.unlink()
    with pytest.raises(atomicwrite.ChangedMeanwhile):
        write_atomic(target, b"ours\n", expect=b"created by someone else\n")
    assert names(isolated_env) == set()


def test_edit_while_the_temp_file_is_written_is_kept(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The re-check happens after the new file is complete and synced: the last moment before the rename."""
    target = isolated_env / "doc.md"
    target.write_bytes(b"old\n")
    real_fsync = os.fsync

    def user_saves_during_fsync(fd: int) -> None:
        real_fsync(fd)
        if not target.read_bytes().startswith(b"edited"):
            target.write_bytes(b"edited during the write\n")

    monkeypatch.setattr(atomicwrite.os, "fsync", user_saves_during_fsync)
    with pytest.raises(atomicwrite.ChangedMeanwhile):
        write_atomic(target, b"fixed\n", expect=b"old\n")
    assert target.read_bytes() == b"edited during the write\n"
    assert names(isolated_env) == {"doc.md"}


def test_same_bytes_saved_again_after_the_content_check_is_still_caught(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"old\n")
    real_link = atomicwrite._link

    def resave(fd: int, named: Path | None, dest: Path) -> None:
        real_link(fd, named, dest)
        other = isolated_env / "editor-swap"
        other.write_bytes(b"old\n")
        os.replace(other, target)  # an editor's own atomic save: same bytes, another inode

    monkeypatch.setattr(atomicwrite, "_link", resave)
    with pytest.raises(atomicwrite.ChangedMeanwhile):
        write_atomic(target, b"fixed\n", expect=b"old\n")
    assert target.read_bytes() == b"old\n"
    assert names(isolated_env) == {"doc.md"}


# --- a SIGKILL mid-write leaves nothing behind ---------------------------------------------------------------

KILLED_WRITER = """
import os, sys, time
from gpt_tools.state import atomicwrite

def stall(fd):  # the new bytes are written; stop here until the test kills this process
    print("ready", flush=True)
    time.sleep(120)

atomicwrite.os.fsync = stall
atomicwrite.write_atomic(sys.argv[1], b"new text " * 100_000)
"""


def test_sigkill_during_the_write_leaves_the_original_and_no_temp_file(isolated_env: Path) -> None:
    target = isolated_env / "doc.md"
    target.write_bytes(b"original\n")
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(target)], stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert target.read_bytes() == b"original\n"
    assert names(isolated_env) == {"doc.md"}


def test_write_only_file_is_written_without_a_comparison(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = isolated_env / "drop.md"
    target.write_bytes(b"old\n")
    target.chmod(0o200)

    def unreadable(path: Path) -> None:  # what a user who may write but not read it gets (root reads anyway)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomicwrite, "_read", unreadable)
    assert write_atomic(target, b"new\n").changed
    monkeypatch.undo()
    assert target.read_bytes() == b"new\n" and mode_of(target) == 0o200


def test_within_refuses_a_symlink_leading_out_and_follows_one_inside(isolated_env: Path) -> None:
    outside = isolated_env.parent / "outside.json"
    link = isolated_env / "state.json"
    link.symlink_to(outside)
    with pytest.raises(atomicwrite.LeadsOutside, match=r"state\.json: not written: it is a symlink to .*outside"):
        write_atomic(link, b"x", within=isolated_env)
    assert not outside.exists() and link.is_symlink()
    (isolated_env / "real.json").write_text("old")
    link.unlink()
    link.symlink_to("real.json")
    assert write_atomic(link, b"new", within=isolated_env).changed
    assert (isolated_env / "real.json").read_text() == "new" and link.is_symlink()


@pytest.mark.timeout(30)
def test_a_regular_file_replaced_by_a_fifo_since_it_was_read_is_changed_meanwhile_not_opened(tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_bytes(b"old\n")
    expect = atomicwrite.snapshot(path)
    path.unlink()
    os.mkfifo(path)  # opening it to write would block until a reader came
    with pytest.raises(atomicwrite.ChangedMeanwhile):
        atomicwrite.write_atomic(path, b"new\n", expect=expect)
    assert stat.S_ISFIFO(path.lstat().st_mode)
