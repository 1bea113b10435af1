"""The hook's command line and the files it may touch: a repository's file names never change what it does.

pre-commit runs `entry args... files...` (user `args` replace any `--` a manifest puts before the
files), so the hook itself must tell options from files:

- a word exactly equal to an option's spelling (`--check`, `-m`, `--jobs`, ...) is always that
  option, so the entry's and the user's options always hold. If a file of that name exists, it
  cannot be told from the option, and a file must never turn an option on or off: the run is
  refused (a usage error, nothing sent or written; even when the file itself was not passed: the
  hook cannot know) and the message says to rename the file;
- any other word starting with `-` that names an existing file is a file and ends the options
  (`-mx.md`, `--model=y.md`): write user args in the separate form (`-m gpt-5`), which no file
  name can change;
- a symbolic link is never read or written (pre-commit's `types` skip them too): its target is
  checked under its own name, and one leading out of the repository is not sent at all.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from gpt_tools.cli.github import OUTPUT_FORMATS
from gpt_tools.config.definitions import Settings, flag_value
from gpt_tools.errors import UsageError
from gpt_tools.state.paths import project_root

PROGRAM = "gpt-tools-hook"


class NamedLikeAnOption(UsageError):
    """Files exist whose names are exactly option spellings given on the command line."""

    def __init__(self, words: Sequence[str]) -> None:
        self.words = tuple(words)
        names = ", ".join(self.words)
        super().__init__(
            f"{names}: a file is named like an option and cannot be told from it, so nothing was checked; rename it"
        )


def positive_int(text: str) -> int:
    """An argparse `type=` for a count or size that must be at least 1 (0 or less would check nothing)."""
    value = int(text)
    if value < 1:
        raise ValueError(f"expected at least 1, got {value}")
    return value


positive_int.__name__ = "number"  # argparse: "invalid number value: '-1'"


def parser() -> argparse.ArgumentParser:
    # No abbreviations: split() must know every option exactly to tell it from a file name.
    made = argparse.ArgumentParser(
        prog=PROGRAM, description="Fix (or check) Markdown files with an assistant.", allow_abbrev=False
    )
    made.add_argument("files", nargs="*", help="files to process (pre-commit passes the changed ones)")
    made.add_argument("--assistant", default="MarkdownLinter", help="a rewriting assistant (default: %(default)s)")
    mode = made.add_mutually_exclusive_group()
    mode.add_argument("--fix", action="store_false", dest="check", help="write fixes back (default)")
    mode.add_argument("--check", action="store_true", help="only report what would change; never write")
    diff_help = "with --check: show a unified diff instead of one line per edit"
    made.add_argument("--diff", action="store_true", help=diff_help)
    made.set_defaults(check=False)  # otherwise --fix's store_false would make checking the default
    jobs_help = f"requests in flight at once (default: config `jobs`, {Settings.jobs})"
    made.add_argument("--jobs", type=flag_value("jobs"), help=jobs_help)
    size_help = "skip larger files; at least 1 (default: %(default)s)"
    made.add_argument("--max-bytes", type=positive_int, default=500_000, help=size_help)
    made.add_argument(
        "--on-error",
        choices=("fail", "warn"),
        default="fail",
        help="when files cannot be checked (offline, no key; files the cache knows are still checked): fail the "
        "hook, or warn and pass; a usage or config error always fails",
    )
    made.add_argument("--no-cache", action="store_false", dest="use_cache", help="ask again even for known text")
    made.add_argument("-m", "--model", help="model to use instead of the assistant's")
    made.add_argument("--dry-run", action="store_true", help="show what would be sent and cost; send nothing")
    secrets_help = "send files even if they look like they hold a secret (else such a file is refused, unsent)"
    made.add_argument("--allow-secrets", action="store_true", help=secrets_help)
    made.add_argument(
        "--output-format",
        choices=OUTPUT_FORMATS,
        default="text",
        help="text (path:line:col: lines), or github: GitHub Actions annotations (::warning file=...,line=...::)",
    )
    return made


def split(made: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """argv with `--` between the options and the files: a file name is never read as an option.

    Raises NamedLikeAnOption when a word spelled exactly like an option also names an existing file.
    """
    words = list(argv)
    takes_value = {flag: action.nargs != 0 for flag, action in made._option_string_actions.items()}
    clashes: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            break
        if word in takes_value:
            if os.path.lexists(word):
                clashes.append(word)
            index += 2 if takes_value[word] else 1  # `--jobs 4`: the value is the next word, whatever it is
            continue
        if not word.startswith("-") or word == "-" or os.path.lexists(word):
            break
        index += 1  # `-mgpt-5`, `--model=gpt-5`, or an unknown option argparse will name
    if clashes:
        raise NamedLikeAnOption(clashes)
    if index < len(words) and words[index] == "--":
        return words
    return [*words[:index], "--", *words[index:]]


def distinct(paths: Sequence[str]) -> tuple[str, ...]:
    """paths without repeats, in the order first named: one file named twice (`docs/*.md docs/a.md`,
    `./a.md`, a hard link, a path through a linked folder) is checked, counted and written once."""
    seen: set[object] = set()
    kept: list[str] = []
    for path in paths:
        try:
            info = os.lstat(path)  # the file itself, not a symbolic link's target: a link is skipped on its own
            key: object = (info.st_dev, info.st_ino)
        except OSError:
            key = _spelled(path)
        if key not in seen:
            seen.add(key)
            kept.append(path)
    return tuple(kept)


def _spelled(path: str) -> str:
    """A missing path's identity by its spelling: absolute where the working folder still exists (a
    deleted one makes abspath fail, and the run must still report it, not crash)."""
    try:
        return os.path.normpath(os.path.abspath(path))
    except OSError:
        return os.path.normpath(path)


def link_note(path: str) -> str | None:
    """Why path is skipped because of a symbolic link, or None: the hook never follows one.

    The file itself being a link: its target, if it is in the repository, is checked under its own
    name. A folder on the way being a link that leads out of the repository: never read or sent.
    """
    if os.path.islink(path):
        return "skipped: a symbolic link (never followed; its target is checked under its own name)"
    absolute = Path(os.path.abspath(path))
    real = Path(os.path.realpath(path))
    if real == absolute:
        return None
    if not real.is_relative_to(_repository(absolute)):
        return "skipped: reached through a symbolic link that leads out of the repository"
    return None


def _repository(absolute: Path) -> Path:
    """The real root of the repository holding a path as it is named, found without following links.

    Not the working folder's: from outside a clone (`gpt-tools run X clone/docs/*/*.md --write` in
    the home folder), a linked folder inside the clone leading into the home folder would otherwise
    be "inside" and be sent and rewritten. Only the folders before the first link count, so a link
    cannot bring its own `.git` with it. No repository: the working folder's project, as before.
    """
    unlinked = Path(absolute.anchor)
    for part in absolute.parent.parts[1:]:
        if os.path.islink(unlinked / part):
            break
        unlinked /= part
    for folder in (unlinked, *unlinked.parents):
        if os.path.lexists(folder / ".git"):
            return Path(os.path.realpath(folder))
    return Path(os.path.realpath(project_root(None, Path.cwd())))
