"""`gpt-tools run`: the command and its options; cli/execute.py runs them."""

from __future__ import annotations

from typing import Any

import click

from gpt_tools.cli.assistants import json_failures, print_assistants
from gpt_tools.cli.completion import assistant_names, model_names
from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.cli.run_many import many_files
from gpt_tools.cli.runflags import run_flags
from gpt_tools.cli.runsettings import RunFlags


@click.command("run")
@click.argument("name", required=False, shell_complete=assistant_names)
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--assistant-name", "--assistant_name", "assistant_name", help="The assistant (instead of NAME).")
@click.option(
    "--input-files",
    "--input_files",
    "input_files",
    multiple=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Files to attach to this run: text goes in as text, others (PDF, images) are uploaded.",
)
@click.option("--list", "list_only", is_flag=True, help="List assistants and exit (the seed runner's --list).")
@click.option("-t", "--input-text", "--input_text", help="Text to send (a rewriter's document, or a writer's request).")
@click.option("-i", "--instruct", metavar="TEXT", help="Extra instructions for this run.")
@click.option("-m", "--model", shell_complete=model_names, help="Model to use instead of the assistant's.")
@click.option("--backend", help="Backend: openai, chat, or an installed plugin's.")
@click.option(
    "-o", "--output-file", "--output_file", type=click.Path(dir_okay=False), help="Write the result here (atomically)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result and its usage as JSON.")
@click.option("--allow-secrets", is_flag=True, help="Send text even if it looks like it holds a secret.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent and its estimated cost; send nothing.")
@click.option(
    "-c",
    "--continue",
    "continue_last",
    is_flag=True,
    help="Continue this project's last conversation (with NAME: its last one with NAME; without NAME, with "
    "its own assistant). A run without -c or --conversation is not part of any conversation.",
)
@click.option(
    "--conversation", "conversation_id", metavar="ID", help="Continue conversation ID (a unique prefix, or `last`)."
)
@run_flags
@many_files  # --write/--check/--diff: many files at once (cli/run_many.py)
def run_command(
    name: str | None,
    files: tuple[str, ...],
    assistant_name: str | None,
    input_files: tuple[str, ...],
    list_only: bool,
    input_text: str | None,
    instruct: str | None,
    model: str | None,
    backend: str | None,
    output_file: str | None,
    as_json: bool,
    allow_secrets: bool,
    dry_run: bool,
    continue_last: bool,
    conversation_id: str | None,
    **flag_values: Any,
) -> int:
    """Run assistant NAME over FILES, --input-text or stdin.

    With -s or -p and no NAME, the plain Assistant runs (a first word that is an assistant's name is
    NAME, any other is a FILE); `gpt-tools "question"` is `run -p "question"`, and run's options may
    come before it (`gpt-tools -m MODEL "question"`; `gpt-tools -- WORD` sends any word). A run is not
    part of a conversation unless -c or --conversation says so.

    With --write, --check or --diff, a rewriting assistant runs over every FILE, like ruff
    (`gpt-tools run MarkdownLinter docs/*.md --check`), and one line counts them: "3 files fixed,
    1 unchanged, 1 refused; 4 requests sent". Exit 1 if --check or --diff finds a change, or a file
    is refused or fails; 2 if no file could be sent at all (no key, every input refused).
    """
    flags = RunFlags(**flag_values)
    if list_only:
        return json_failures(as_json, lambda: print_assistants(as_json=as_json))
    chosen = assistant_name or name
    # An ad-hoc prompt's -c continues the plain Assistant's last conversation (or the named one's), as
    # llm's -c continues the last prompt; --conversation ID is that conversation's own assistant.
    ad_hoc = assistant_name is None and flags.ad_hoc and not conversation_id
    if assistant_name is None and not ad_hoc and (continue_last or conversation_id):
        from gpt_tools.cli.conversations import continued  # NAME may be left out: the conversation's own

        chosen, files = continued(name, files, conversation_id)
    if ad_hoc:
        chosen, files = None, ((name, *files) if name else files)  # NAME or a FILE: decided with the config
    if assistant_name and name:
        files = (name, *files)  # with --assistant-name, a bare first word is a file
    # The whole run path (core, wire, state): imported when a run starts, not for `gpt-tools --help`.
    from gpt_tools.cli.execute import RunOptions, execute

    options = RunOptions(
        name=chosen,
        files=files,
        attachments=input_files,
        input_text=input_text,
        instruct=instruct,
        model=model,
        backend=backend,
        output_file=output_file,
        as_json=as_json,
        allow_secrets=allow_secrets,
        dry_run=dry_run,
        continue_last=continue_last,
        conversation_id=conversation_id,
        flags=flags,
    )
    return execute(options, Console(PROGRAM))
