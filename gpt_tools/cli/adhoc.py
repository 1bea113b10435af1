"""Ad-hoc prompts: `gpt-tools "question"` and `gpt-tools run -s/-p ...` without a named assistant.

The plain built-in `Assistant` (gpt_tools/assistants/Assistant.md: a write assistant whose
instructions only say how files are wrapped; the default model) runs them, unless NAME is given.

How a first word is read, so that no word means two things:
- `gpt-tools WORD ...`: a command's name is that command (`help` is `--help`); an assistant's exact
  name (any case) is `gpt-tools run WORD ...`; any other word is a prompt, except a single word that
  names a file, or is close to a command's name, or close to an assistant's name and followed by
  FILES or `-o` (`gpt-tools Summarizr notes.md`), which is refused (nothing is sent).
- `gpt-tools run -s TEXT WORD ...` (or `-p TEXT`): WORD is NAME when it is an assistant's exact name,
  else the first FILE. A file named like an assistant is written `./NAME`.
- Any prompt at all, a command's name included: `gpt-tools run -p TEXT` (or `run Assistant -t TEXT`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gpt_tools.cli.runsettings import RunFlags
from gpt_tools.errors import UsageError

if TYPE_CHECKING:  # `gpt-tools --help` imports this module: the config is loaded only by a run
    from gpt_tools.config.loader import Config

DEFAULT_ASSISTANT = "Assistant"
_CUTOFF = 0.75  # `lst` for `list`, `MarkdownLintr`; not `hi`, `test` or a sentence


def bare_prompt(args: list[str], commands: Collection[str]) -> list[str]:
    """`gpt-tools WORD ...` as `gpt-tools run --bare --prompt WORD ...` when WORD names no command."""
    if not args or args[0].startswith("-") or args[0] in commands:
        return args
    word = args[0]
    if word == "help":
        return ["--help", *args[1:]]
    if not word.strip():
        raise UsageError("the prompt is empty; nothing was sent")
    if len(word.split()) == 1:
        close = difflib.get_close_matches(word, list(commands), n=1, cutoff=_CUTOFF)
        if close:
            raise UsageError(_typo(word, close[0], "command"))
        if os.path.lexists(word):  # `gpt-tools README.md`: an assistant was left out, not a question
            raise UsageError(
                f"{word!r} is a file, not a prompt: give an assistant (gpt-tools run NAME {word}) "
                f'or a prompt before it (gpt-tools "…" {word}); nothing was sent'
            )
    return ["run", "--bare", "--prompt", word, *args[1:]]


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
        if found is not None:  # `gpt-tools DocWriter notes.md`: run DocWriter
            return Chosen(name=found, files=words, prompt=None)
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
