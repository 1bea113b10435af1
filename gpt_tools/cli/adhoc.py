"""Ad-hoc prompts: `gpt-tools "question"` and `gpt-tools run -s/-p ...` without a named assistant.

The plain built-in `Assistant` (gpt_tools/assistants/Assistant.md: a write assistant whose
instructions only say how files are wrapped; the default model) runs them, unless NAME is given.

How a first word is read, so that no word means two things:
- `gpt-tools WORD ...`: a command's name is that command (`help` is `--help`); an assistant's exact
  name (any case) is `gpt-tools run WORD ...`, even when a file has that name; any other word is a
  prompt, except a single word that names a file, or is close to a command's name, or close to an
  assistant's name and followed by FILES or `-o` (`gpt-tools Summarizr notes.md`), which is refused
  (nothing is sent).
- `run`'s options may come before WORD (`gpt-tools -m gpt-5 "question"`, `gpt-tools -s "Be terse."
  "question"`, as llm and mods take them); with -p among them, or -s and a WORD that is an existing
  file (or `-`), it is `gpt-tools run ...` as typed (WORD is NAME or the first FILE).
  `gpt-tools -- WORD ...`: WORD is the prompt whatever it names (`gpt-tools -- list` asks about "list").
- `gpt-tools run -s TEXT WORD ...` (or `-p TEXT`): WORD is NAME when it is an assistant's exact name,
  else the first FILE. A file named like an assistant is written `./NAME`.
- Any prompt at all, a command's name included: `gpt-tools run -p TEXT` (or `run Assistant -t TEXT`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from gpt_tools.cli.runsettings import RunFlags
from gpt_tools.errors import UsageError

if TYPE_CHECKING:  # `gpt-tools --help` imports this module: the config is loaded only by a run
    from gpt_tools.config.loader import Config

DEFAULT_ASSISTANT = "Assistant"
_CUTOFF = 0.75  # `lst` for `list`, `MarkdownLintr`; not `hi`, `test` or a sentence


def bare_prompt(args: list[str], commands: Mapping[str, click.Command]) -> list[str]:
    """`gpt-tools [RUN OPTIONS] WORD ...` as `gpt-tools run --bare --prompt WORD ...` when WORD names
    no command; with -p, or -s and a WORD that is a file, `gpt-tools run ...` as typed."""
    if not args or args[0] in commands:
        return args
    if args[0] == "help":
        return ["--help", *args[1:]]
    found = _first_word(args, commands["run"]) if "run" in commands else None
    if found is None:  # a group option (--help, --version), or an option `run` does not know: click says so
        return args
    at, names = found
    # Options only (`gpt-tools -m gpt-5`: run says what is missing), or -p: a NAME or a FILE follows.
    if at == len(args) or names & {"-p", "--prompt"}:
        return ["run", *args]
    options, word, rest = args[:at], args[at], args[at + 1 :]
    if options[-1:] == ["--"]:  # `gpt-tools -- list`: the prompt, whatever it names
        return ["run", "--prompt", word, *options[:-1], *rest]
    if names & {"-s", "--system"} and (word == "-" or os.path.lexists(word)):  # `gpt-tools -s TEXT notes.md`
        return ["run", *args]
    if word in commands:  # `gpt-tools -m x list`: no other command takes run's options
        return args
    if word == "-":
        raise UsageError('"-" (stdin) is a FILE: give an assistant (gpt-tools run NAME -) or a prompt before it')
    if not word.strip():
        raise UsageError("the prompt is empty; nothing was sent")
    if len(word.split()) == 1:
        close = difflib.get_close_matches(word, list(commands), n=1, cutoff=_CUTOFF)
        if close:
            raise UsageError(_typo(word, close[0], "command"))
    return ["run", "--bare", "--prompt", word, *options, *rest]


def _first_word(args: Sequence[str], run: click.Command) -> tuple[int, set[str]] | None:
    """Where the first word that is no option of `run` (nor an option's value) is, just after `--` if
    that comes first (len(args): every word is one), and the options before it; None if a word is an
    option `run` does not have (or `--` ends the words)."""
    takes = _option_values(run)
    names: set[str] = set()
    at = 0
    while at < len(args):
        arg = args[at]
        if arg == "--":
            return (at + 1, names) if at + 1 < len(args) else None
        if arg == "-" or not arg.startswith("-"):
            return at, names
        name = arg.partition("=")[0] if arg.startswith("--") else arg[:2]
        if name not in takes and any(char.isspace() for char in arg):  # `gpt-tools "-5 °C in °F?"`: no option
            return at, names
        if name not in takes or (arg != name and takes[name] != 1):  # `--json=x`, `-Ox`: click would refuse
            return None
        names.add(name)
        at += 1 + (takes[name] if arg == name else 0)
    return min(at, len(args)), names  # past the end: an option's value is missing, as run will say


def _option_values(run: click.Command) -> dict[str, int]:
    """Each spelling of run's options and how many values it takes."""
    takes: dict[str, int] = {}
    for param in run.params:
        if isinstance(param, click.Option):
            for spelling in (*param.opts, *param.secondary_opts):
                takes[spelling] = 0 if param.is_flag or param.count else param.nargs
    return takes


def _typo(word: str, close: str, what: str) -> str:
    return (
        f"no {what} {word!r}; did you mean {close!r}? "
        f"(to send it as a prompt: gpt-tools run -p {word!r}); nothing was sent"
    )


@dataclass(frozen=True, kw_only=True)
class Chosen:
    """Who runs and on what, once the config says which words are assistants."""

    name: str
    files: tuple[str, ...]
    prompt: str | None  # the ad-hoc request, when there is one


def choose(config: Config, files: Sequence[str], flags: RunFlags, *, output: bool = False) -> Chosen:
    """The assistant of an ad-hoc run (no --assistant-name): an assistant's exact name first, else the
    plain Assistant; `files` holds every positional word, `output`: -o was given."""
    words = tuple(files)
    named = _assistant_named(config, words[0]) if words else None
    if flags.bare and flags.prompt is not None:
        word = flags.prompt
        found = _assistant_named(config, word)
        if found is not None:  # `gpt-tools DocWriter notes.md`: run DocWriter (a file so named is ./DocWriter)
            return Chosen(name=found, files=words, prompt=None)
        if len(word.split()) == 1 and os.path.lexists(word):  # `gpt-tools README.md`: no assistant, no question
            raise UsageError(
                f"{word!r} is a file, not a prompt: give an assistant (gpt-tools run NAME {word}) "
                f'or a prompt before it (gpt-tools "…" {word}); nothing was sent'
            )
        # `gpt-tools MarkdownLintr README.md -o README.md` must not send README.md to the plain Assistant
        # and write its answer over the file; `cat f | gpt-tools summarize` is a prompt all the same.
        close = difflib.get_close_matches(word, list(config.assistants), n=1, cutoff=_CUTOFF)
        if len(word.split()) == 1 and close and (words or output):
            raise UsageError(_typo(word, close[0], "assistant or command"))
        return Chosen(name=DEFAULT_ASSISTANT, files=words, prompt=word)
    if named is not None:
        return Chosen(name=named, files=words[1:], prompt=flags.prompt)
    return Chosen(name=DEFAULT_ASSISTANT, files=words, prompt=flags.prompt)


def _assistant_named(config: Config, word: str) -> str | None:
    """The assistant `word` names exactly (any case, as `run NAME` reads it), else None."""
    if word in config.assistants:
        return word
    folded = {known.lower(): known for known in config.assistants}
    return folded.get(word.lower())
