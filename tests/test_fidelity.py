"""fidelity.py, the content guard: golden cases of genuine fixes that must pass, and damaging replies
(lost, invented or replaced prose) that must be refused with a message saying what and where."""

from __future__ import annotations

import pytest

from gpt_tools.core.fidelity import REWORDS, STRICT, Fidelity, blocks, check_content
from gpt_tools.errors import ReplyRejected

STEPS = "".join(
    f"{name}\n\n"
    for name in (
        "Install the package from PyPI with pip, inside a fresh virtual environment.",
        "Create a configuration file named gpt-tools.toml at the root of your project.",
        "Set the model you want to use, or keep the default one that ships with the tool.",
        "Export your API key in the environment, or name a command that prints it.",
        "Run the linter once over the README to see what it would change for you.",
        "Review the diff carefully, because every change is yours to accept or refuse.",
        "Add the pre-commit hook so every commit gets its Markdown files checked.",
        "Commit the configuration file so your whole team shares the same assistants.",
        "Read the section on protected regions to learn what the model never sees.",
        "Report any problem you meet on the issue tracker, with the exact command you ran.",
    )
)
PARAGRAPHS = STEPS.split("\n\n")[:-1]

GUIDE = """\
# Getting started

This guide shows how to install the tool, configure it and run it over your documents.

## Install

Install the package from PyPI with pip, inside a fresh virtual environment. See ⟦C1⟧ for details.

* Python 3.10 or newer
* an OpenAI API key
* git, for the pre-commit hook

## Configure

Create a file named gpt-tools.toml at the root of the project. ⟦B2⟧

1. Set the model.
2. Set the backend.
3. Save the file.

> Keys are never written to the configuration file.

| setting | meaning |
|---|---|
| model | the model to use |
"""

TABLE = """\
| setting | meaning |
|---|---|
| model | the model to use |
| jobs | requests in flight at once |
| protect | mask code from the model |
| stream | show the reply as it comes |
"""

# --- Genuine fixes: every one must pass the strict guard (MarkdownLinter, ProofReader) ---------------

FIXES = {
    "unchanged": GUIDE,
    "typo fixed": STEPS.replace("carefully", "carefuly").replace("Install the", "Instal teh"),
    "short heading typo": GUIDE.replace("## Install", "## Instalation"),
    "grammar in a sentence": GUIDE.replace(
        "This guide shows how to install the tool", "This guide show how you installs the tool"
    ),
    "list markers made consistent": GUIDE.replace("* an OpenAI", "+ an OpenAI").replace("* git", "- git"),
    "loose list made tight": GUIDE.replace("* Python 3.10 or newer\n", "* Python 3.10 or newer\n\n"),
    "heading levels fixed": GUIDE.replace("## Configure", "#### Configure"),
    "heading without its space": GUIDE.replace("## Install\n\n", "##Install\n"),
    "numbered list renumbered": GUIDE.replace("2. Set the backend.", "1. Set the backend."),
    "emphasis closed": GUIDE.replace("run it over your documents", "run it over **your documents*"),
    "block quote fixed": GUIDE.replace("> Keys are never", "> keys are never"),
    "table cell typo": GUIDE.replace("the model to use", "teh model to use"),
    "table re-aligned": GUIDE.replace(
        "|---|---|\n| model | the model to use |", "| ------- | ---------------- |\n| model   | the model to use |"
    ),
    "paragraph split in two": STEPS.replace(
        "Create a configuration file named gpt-tools.toml at the root of your project.\n\n",
        "Create a configuration file.\n\nName it gpt-tools.toml, at the root of your project.\n\n",
    ),
    "two paragraphs joined": STEPS.replace("virtual environment.\n\nCreate", "virtual environment. Create"),
    "trailing spaces and blank lines": STEPS.replace("\n\n", " \n\n\n"),
    "one-word paragraph": "# Notes\n\nThnaks\n\nSee the list below.\n",
}


def _input_for(case: str) -> str:
    return (
        STEPS
        if case in ("typo fixed", "paragraph split in two", "two paragraphs joined", "trailing spaces and blank lines")
        else GUIDE
    )


@pytest.mark.parametrize("case", list(FIXES))
def test_genuine_fixes_pass(case: str) -> None:
    original = "# Notes\n\nThanks\n\nSee the list below.\n" if case == "one-word paragraph" else _input_for(case)
    fixed = FIXES[case]
    check_content(fixed, original, "the document", STRICT)  # the "fix" in either direction is a fix
    check_content(original, fixed, "the document", STRICT)
    check_content(original, fixed, "the document", REWORDS)


# Simplifier's kind of rewrite: heavy rewording, sentences shortened and split, steps made a list, every
# block kept. It passes the guard for rewording assistants, and is too much for a copy editor.
WORDY = """\
# Deployment

In order to facilitate the deployment of the application to production environments, it is necessary to
utilize the aforementioned configuration parameters.

Prior to the commencement of the deployment procedure, administrators should ascertain that all database
migrations have been successfully applied, subsequently verifying the integrity of the backups.

The procedure consists of building the container image, then pushing it to the registry, and finally
restarting the service on each production host.

Should any difficulties be encountered, the operations team may be contacted via the support channel.
"""
PLAIN = """\
# Deployment

Use these configuration settings to deploy the app to production.

Before you deploy, check that every database migration has run. Then check that the backups are intact.

To deploy:

1. Build the container image.
2. Push the image to the registry.
3. Restart the service on each production host.

If you have problems, contact the operations team on the support channel.
"""


def test_simplifier_rewording_passes_the_rewording_guard_only() -> None:
    check_content(WORDY, PLAIN, "the document", REWORDS)
    with pytest.raises(ReplyRejected, match="with unrelated text"):
        check_content(WORDY, PLAIN, "the document", STRICT)


# --- Damaging replies: each must be refused, by both guards ------------------------------------------

DAMAGE = {
    "drops 4 of 10 paragraphs": (
        STEPS,
        "\n\n".join(PARAGRAPHS[:3] + PARAGRAPHS[7:]) + "\n",
        r"drops 4 of 10 paragraphs, starting 'Export your API key in the environment,…'",
    ),
    "drops the end": (
        STEPS,
        "\n\n".join(PARAGRAPHS[:6]) + "\n",
        r"drops 4 of 10 paragraphs, starting 'Add the pre-commit hook",
    ),
    "preamble": (
        GUIDE,
        "Here is the fixed document:\n\n" + GUIDE,
        r"adds 1 block at the start that the input does not have \(a note to you, not part of the document\), "
        r"starting 'Here is the fixed document:'",
    ),
    "closing note": (
        GUIDE,
        GUIDE + "\nLet me know if you would like any other changes!\n",
        r"adds 1 block at the end .*starting 'Let me know if you would like any other…'",
    ),
    "both": (GUIDE, "Sure! Here it is.\n\n" + GUIDE + "\nI fixed 3 typos.\n", r"adds 1 block at the start.*and 1 more"),
    "unrelated sentence": (
        "# Notes\n\nThe build runs the tests on every push and publishes the wheel on tags.\n",
        "The weather in Paris was sunny and warm for most of the summer, they said.\n",
        r"has nothing in common with the input \(it starts 'The weather in Paris was sunny and warm…'\), "
        r"so it is not a rewrite of it; nothing was applied",
    ),
    "unrelated text of the same length": (
        STEPS,
        "".join(f"Line {i} of a poem about the sea, the wind and the gulls over the harbour.\n\n" for i in range(10)),
        r"has nothing in common with the input \(it starts 'Line 0 of a poem",
    ),
    "document twice": (
        GUIDE,
        GUIDE + "\n" + GUIDE,
        r"adds 15 blocks at the end that the input does not have, starting '# Getting started'",
    ),
    "only the first half": (
        GUIDE,
        GUIDE[: GUIDE.index("## Configure")],
        r"drops 8 of 15 blocks, starting '## Configure'",
    ),
    "markers kept, prose replaced": (
        "Read ⟦C1⟧ before you run the installer on a shared machine.\n\n⟦B2⟧\n",
        "Lorem ipsum dolor sit amet ⟦C1⟧ consectetur adipiscing elit sed do.\n\n⟦B2⟧\n",
        r"has nothing in common with the input \(it starts 'Lorem ipsum",
    ),
    "list items dropped": (
        GUIDE,
        GUIDE.replace("* an OpenAI API key\n* git, for the pre-commit hook\n", ""),
        r"drops 2 of 6 list items, starting '\* an OpenAI API key'",
    ),
    "table rows dropped": (
        TABLE,
        TABLE.replace("| jobs | requests in flight at once |\n| protect | mask code from the model |\n", ""),
        r"drops 2 of 5 table rows, starting '\| jobs \| requests in flight at once \|'",
    ),
    "a paragraph refused": (
        STEPS,
        STEPS.replace(PARAGRAPHS[4], "I'm sorry, but I cannot help with that request."),
        r"replaces 1 of 10 paragraphs with unrelated text, starting 'Run the linter once",
    ),
    "summary instead": (
        STEPS,
        "Install it, configure it, run it, and review what it changes.\n",
        r"has nothing in common with the input",
    ),
    "one paragraph in place of another": (
        STEPS,
        STEPS.replace(PARAGRAPHS[8], PARAGRAPHS[1]),
        r"replaces 1 of 10 paragraphs with unrelated text, starting 'Read the section on protected",
    ),
}


@pytest.mark.parametrize("case", list(DAMAGE))
@pytest.mark.parametrize("fidelity", [STRICT, REWORDS], ids=lambda f: f.name)
def test_damaging_replies_are_refused_saying_what_and_where(case: str, fidelity: Fidelity) -> None:
    original, reply, message = DAMAGE[case]
    with pytest.raises(ReplyRejected, match=message) as refused:
        check_content(original, reply, "the document", fidelity)
    assert str(refused.value).startswith("the reply for the document ")
    assert str(refused.value).endswith("; nothing was applied")


def test_blocks_are_paragraphs_headings_and_list_items_without_markers() -> None:
    found, words = blocks("# Title\nText on\ntwo lines ⟦C1⟧.\n\n- one\n- two\n  more\n\n⟦B2⟧\n\n> quoted\n>\n> again\n")
    assert [(b.kind, b.text) for b in found] == [
        ("heading", "# Title"),
        ("paragraph", "Text on two lines ."),
        ("list item", "- one"),
        ("list item", "- two more"),
        ("paragraph", "> quoted"),
        ("paragraph", "> again"),
    ]
    assert words[:5] == ["title", "text", "on", "two", "lines"]


def test_a_long_chunk_is_checked_quickly_enough_for_an_editor() -> None:
    text = "".join(f"## Part {i}\n\n{p}\n\n" for i in range(40) for p in PARAGRAPHS[:4])
    assert len(text) > 12_000  # a 4000-token chunk
    check_content(text, text.replace("Install the", "Instal teh"), "chunk 1/3")
    with pytest.raises(ReplyRejected):
        check_content(text, "A short unrelated reply that has nothing in common.\n" * 40, "chunk 1/3")


@pytest.mark.timeout(20)  # aligning 2,700 equal words pairwise would take minutes
def test_a_long_repetitive_table_is_aligned_by_rows() -> None:
    row = "| 0 | 0 | 0 | 0 | 0 | 0 |\n"
    table = "# Data\n\n" + row * 450
    check_content(table, table.replace("# Data", "# Dta"), "chunk 1/2")
    check_content(table, table.replace(row, row + "\n", 1), "chunk 1/2")
    with pytest.raises(ReplyRejected, match=r"drops 150 of 450 table rows"):
        check_content(table, "# Data\n\n" + row * 300, "chunk 1/2")
