"""Editing a config file in place: one edit at a time, its comments, line endings and BOM kept.

Every edit (`assistant create/edit/delete`, `files` set/add/remove, `trust`) runs under a
cross-process lock for that file and re-reads the file under it: two edits at once both land, in some
order, instead of the later one writing over the earlier.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpt_tools.errors import ConfigError, UsageError
from gpt_tools.state import paths
from gpt_tools.state.atomicwrite import write_atomic
from gpt_tools.state.localread import FileRefused, read_regular

BOM = "\ufeff"
LOCK_TIMEOUT = 60.0  # an edit holds it for well under a second: a minute means something is stuck


@dataclass(frozen=True, kw_only=True)
class Layout:
    """What tomlkit would not keep by itself: the file's BOM, CRLF line endings and final newline."""

    bom: bool = False
    crlf: bool = False
    final_newline: bool = True

    @classmethod
    def of(cls, text: str) -> Layout:
        body = text.removeprefix(BOM)
        return cls(
            bom=text.startswith(BOM),
            crlf="\r\n" in body and body.count("\r\n") * 2 >= body.count("\n"),
            final_newline=not body or body.endswith("\n"),
        )

    def apply(self, text: str) -> str:
        text = text.replace("\r\n", "\n")
        text = text if self.final_newline or not text.endswith("\n") else text.rstrip("\n")
        if self.final_newline and text and not text.endswith("\n"):
            text += "\n"
        return (BOM if self.bom else "") + (text.replace("\n", "\r\n") if self.crlf else text)


@contextmanager
def edit_lock(config: Path) -> Iterator[None]:
    """The cross-process lock every change of config is made under (filelock, as the state file's).

    It lives in the user's state dir, keyed by the config's real path, so an edit leaves nothing
    behind in the repository (a failed `assistant create` in a new folder creates no file at all).
    """
    path = paths.config_lock(config)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    from filelock import FileLock  # here: ~20 ms of start-up that only config edits need

    lock = FileLock(str(path), timeout=LOCK_TIMEOUT, mode=0o600)  # as every lock of ours: the owner's only
    try:
        lock.acquire()
    except TimeoutError:  # filelock.Timeout is one
        raise UsageError(f"{config} is being changed by another gpt-tools for {LOCK_TIMEOUT:g} s; try again") from None
    try:
        yield
    finally:
        lock.release()


def read_document(path: Path) -> tuple[Any, Layout]:
    """(tomlkit document, layout) of path; an empty document if it does not exist."""
    import tomlkit  # start-up: tomlkit takes tens of ms; every config load imports this module (via trust)
    from tomlkit.exceptions import TOMLKitError

    if sys.version_info >= (3, 11):  # as in loader.py
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

    if not path.exists():
        return tomlkit.document(), Layout()
    try:
        text = read_regular(path).decode("utf-8")
    except FileRefused as exc:
        raise ConfigError(str(path), None, exc.reason) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), None, f"cannot read: {exc}") from None
    layout = Layout.of(text)
    body = text.removeprefix(BOM).replace("\r\n", "\n")
    try:  # tomllib first: tomlkit reports an error at the end as "Unexpected character: '\x00' at line 1 col 0"
        tomllib.loads(body)
    except tomllib.TOMLDecodeError as exc:  # the loader's own words: "Invalid value (at line 2, column 1)"
        raise ConfigError(str(path), None, f"invalid TOML: {exc}") from None
    try:
        return tomlkit.parse(body), layout
    except TOMLKitError as exc:
        raise ConfigError(str(path), None, f"invalid TOML: {exc}") from None


def dumps(doc: Any, layout: Layout) -> str:
    """The document's text as it will be written, in the file's own layout."""
    import tomlkit  # start-up: as in read_document

    return layout.apply(tomlkit.dumps(doc))


def write_document(path: Path, text: str, *, within: Path | None = None) -> None:
    """Replace path's text; `within`: the folder it must resolve into (an untrusted project's own)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text.encode("utf-8"), within=within)
