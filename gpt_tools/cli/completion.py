"""Shell completion: `gpt-tools completion bash|zsh|fish` prints the script; assistant names complete.

gpt-tools completes through click's own mechanism (the script calls `gpt-tools` back with
`_GPT_TOOLS_COMPLETE=<shell>_complete`); the printed script adds gpt-filter's first argument (an
assistant's name), which `gpt-tools completion --names` lists. Completion loads the config as `list`
does: it sends nothing, runs no api_key_cmd, and an untrusted project's gated keys are left out.
"""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem, get_completion_class

from gpt_tools.cli.console import PROGRAM, Console
from gpt_tools.errors import GptToolsError

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_GPT_TOOLS_COMPLETE"

# gpt-filter parses its own arguments (argparse, kept import-light for Vim): its first word that is
# not an option is the assistant's name; the rest are files.
_FILTER = {
    "bash": """
_gpt_filter_completion() {
    local cur=${COMP_WORDS[COMP_CWORD]} word name skip=0 named=0
    COMPREPLY=()
    for word in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
        if [[ $skip -gt 0 ]]; then skip=$((skip - 1)); continue; fi
        case $word in
            -O|--option) skip=2 ;;  # KEY VALUE
            -m|--model|--backend|-i|--instruct|--temperature|--max-output-tokens) skip=1 ;;
            -*) ;;
            *) named=1 ;;
        esac
    done
    [[ $skip -eq 0 && $named -eq 0 && $cur != -* ]] || return 0
    cur=${cur//\\\\/}  # what was typed as My\\ Re is matched as My Re
    # Names come from the project's config, a cloned repository's: matched as plain text and inserted
    # quoted (printf %q), never given to compgen -W, which expands $(...) in its word list.
    while IFS= read -r name; do
        [[ ${name,,} == "${cur,,}"* ]] && COMPREPLY+=("$(printf '%q' "$name")")
    done < <(gpt-tools completion --names 2>/dev/null)
}
complete -o default -F _gpt_filter_completion gpt-filter
""",
    "zsh": """
_gpt_filter_completion() {
    local curcontext=$curcontext state line
    local -a names
    _arguments -C '1:assistant:->name' '*:file:_files'
    if [[ $state == name ]]; then  # compadd -a: each name as it is, never evaluated (a cloned config's)
        names=(${(f)"$(gpt-tools completion --names 2>/dev/null)"})
        compadd -a names
    fi
}
compdef _gpt_filter_completion gpt-filter
""",
    "fish": """
complete -c gpt-filter -f -n 'test (count (commandline -opc)) -eq 1' -a '(gpt-tools completion --names 2>/dev/null)'
""",
}


def assistant_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The assistants whose names start with what was typed (any case), each with its description."""
    try:
        from gpt_tools.config.loader import load_config  # completion only: `gpt-tools --help` never loads it

        assistants = load_config(inspect=True).assistants.values()
    except (GptToolsError, OSError):  # a broken config must not break the shell: nothing to offer
        return []
    typed = incomplete.lower()
    return [
        CompletionItem(a.name, help=a.description or None)
        for a in sorted(assistants, key=lambda a: a.name.lower())
        if a.name.lower().startswith(typed)
    ]


def model_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The models the price table knows (built-in and [prices]), offline: `gpt-tools models` asks the server."""
    try:
        from gpt_tools.config.loader import load_config  # as in assistant_names
        from gpt_tools.config.prices import table

        known = table(load_config(inspect=True))
    except (GptToolsError, OSError):
        return []
    return [CompletionItem(name) for name in sorted(known) if name.startswith(incomplete)]


# click's bash script inserts a value as it is (`My Reviewer` becomes two words, `*` a glob) and
# reads it with backslashes processed: a value is inserted quoted, as bash quotes file names.
_BASH_QUOTING = (
    ("IFS=',' read type value", "IFS=',' read -r type value"),
    ("COMPREPLY+=($value)", 'COMPREPLY+=("$(printf \'%q\' "$value")")'),
)


def script(root: click.Command, shell: str) -> str:
    """The completion script for shell: click's for gpt-tools, then gpt-filter's."""
    source = get_completion_class(shell)
    assert source is not None  # SHELLS are click's own
    text = source(root, {}, PROGRAM, COMPLETE_VAR).source()
    for old, new in _BASH_QUOTING if shell == "bash" else ():
        text = text.replace(old, new)
    return text.rstrip("\n") + "\n" + _FILTER[shell]


@click.command("completion")
@click.argument("shell", required=False, type=click.Choice(SHELLS))
@click.option("--names", is_flag=True, hidden=True, help="List assistant names, one a line (for the scripts).")
@click.pass_context
def completion_command(ctx: click.Context, shell: str | None, names: bool) -> int:
    """Print the shell completion script for bash, zsh or fish (commands, options, assistant names).

    \b
    bash:  eval "$(gpt-tools completion bash)"    (in ~/.bashrc)
    zsh:   eval "$(gpt-tools completion zsh)"     (in ~/.zshrc, after compinit)
    fish:  gpt-tools completion fish | source     (in ~/.config/fish/config.fish)

    The script also completes gpt-filter's assistant name. Without the command, click's own
    variable does the same for gpt-tools alone: eval "$(_GPT_TOOLS_COMPLETE=bash_source gpt-tools)".
    """
    console = Console(PROGRAM)
    if names:
        console.result("".join(f"{item.value}\n" for item in assistant_names(ctx, ctx.command.params[0], "")))
        return 0
    if shell is None:
        raise click.UsageError("name a shell: bash, zsh or fish")
    console.result(script(ctx.find_root().command, shell))
    return 0
