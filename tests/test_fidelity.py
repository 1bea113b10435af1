"""fidelity.py, the content guard: golden cases of genuine fixes that must pass, and damaging replies
(lost, invented or replaced prose) that must be refused with a message saying what and where."""

from __future__ import annotations

import random

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


# --- Adversarial inputs: the guard's time stays near-linear, and its verdicts hold ---------------------
# Each case is a document a word aligner finds hard, with a typo-level fix that must pass and a dropped
# block that must be refused. The bounds are generous (the machine may be shared); before the patience
# alignment, the first case alone took 13 s and the 3000-line ones minutes.


def _changelog(n: int) -> str:
    return "# Changelog\n\n" + "".join(f"- teh value of the field is set {i}\n" for i in range(n))


def _without_line(text: str, index: int) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(lines[:index] + lines[index + 1 :])


@pytest.mark.timeout(10)
@pytest.mark.parametrize("lines", [300, 3000])
def test_similar_lines_fixed_pass_and_a_dropped_line_is_refused(lines: int) -> None:
    text = _changelog(lines)
    check_content(text, text.replace("teh", "the"), "chunk 1/1")  # every line fixed
    dropped = lines // 2 + 2  # the line of item lines // 2 (after the heading and the blank line)
    with pytest.raises(
        ReplyRejected, match=rf"drops 1 of {lines} list items, starting '- teh value of the field is set {lines // 2}'"
    ):
        check_content(text, _without_line(text, dropped), "chunk 1/1")
    with pytest.raises(ReplyRejected, match=r"adds 1 block in the middle"):
        check_content(text, text.replace("set 7\n", "set 7\n- also deleted the whole database\n"), "chunk 1/1")


@pytest.mark.timeout(10)
def test_a_line_dropped_from_numbered_lines_is_not_hidden_in_its_neighbours() -> None:
    # Word alignment alone pairs the dropped line's start with the next line's and its end with the
    # previous line's: both look half kept, and the drop passed. Runs are slid onto block boundaries.
    text = "# Changelog\n\n" + "".join(f"- Fixed the parser for item {i} in the release notes\n" for i in range(300))
    with pytest.raises(ReplyRejected, match=r"drops 1 of 300 list items, starting '- Fixed the parser for item 150 in"):
        check_content(text, text.replace("- Fixed the parser for item 150 in the release notes\n", ""), "chunk 1/1")


@pytest.mark.timeout(10)
def test_a_line_dropped_from_identical_lines_is_one_list_item_lost() -> None:
    text = "# Todo\n\n" + "- [ ] water the plants in the hall\n" * 400
    with pytest.raises(ReplyRejected, match=r"drops 1 of 400 list items"):
        check_content(text, _without_line(text, 200), "chunk 1/1")
    check_content(text, text.replace("plants", "plnats", 1).replace("hall", "hal", 1), "chunk 1/1")


@pytest.mark.timeout(10)
def test_every_other_line_dropped_or_replaced_is_refused_quickly() -> None:
    text = _changelog(3000)
    lines = text.splitlines(keepends=True)
    with pytest.raises(ReplyRejected, match=r"drops 1 of 3000 list items.*and 14\d\d more"):
        check_content(text, "".join(lines[:2] + lines[3::2]), "chunk 1/1")
    other = "".join(
        line if k % 2 or k < 2 else f"- the form loads each value when it is kept {k - 2}\n"
        for k, line in enumerate(lines)
    )
    with pytest.raises(ReplyRejected, match=r"replaces 1 of 3000 list items with unrelated text"):
        check_content(text, other, "chunk 1/1")
    with pytest.raises(ReplyRejected, match=r"adds 3001 blocks at the end"):
        check_content(text, text + "\n" + text, "chunk 1/1")


@pytest.mark.timeout(10)
def test_a_long_table_without_a_distinctive_word_keeps_its_verdicts() -> None:
    rows = ["| 0 | 0 | 0 | 0 |\n"] * 3000
    text = "# Data\n\n| a | b | c | d |\n|---|---|---|---|\n" + "".join(rows)
    changed = [row.replace("| 0 |", "| o |", 1) if k % 100 == 50 else row for k, row in enumerate(rows)]
    check_content(text, text.replace("".join(rows), "".join(changed)).replace("Data", "Dta"), "chunk 1/1")
    kept = [row for k, row in enumerate(rows) if k % 100 != 50]
    with pytest.raises(ReplyRejected, match=r"drops 30 of 3001 table rows"):
        check_content(text, text.replace("".join(rows), "".join(kept)), "chunk 1/1")


@pytest.mark.timeout(10)
def test_one_huge_paragraph_of_common_words() -> None:
    rng = random.Random(7)
    vocabulary = ["the", "value", "of", "each", "field", "is", "set", "when", "form", "loads", "and", "kept"]
    text = " ".join(rng.choice(vocabulary) for _ in range(20_000)) + ".\n\nThe end of the notes, with thanks.\n"
    check_content(text, text.replace("value", "valeu", 200), "chunk 1/1")
    with pytest.raises(ReplyRejected, match=r"drops 1 of 2 paragraphs, starting 'The end of the notes"):
        check_content(text, text[: text.index("The end")], "chunk 1/1")
    with pytest.raises(ReplyRejected, match=r"adds 1 block at the start"):
        check_content(text, "Here is the corrected text with every word kept.\n\n" + text, "chunk 1/1")


@pytest.mark.timeout(10)
def test_random_words() -> None:
    rng = random.Random(11)
    vocabulary = ["".join(rng.choice("abcdefghij") for _ in range(rng.randint(3, 9))) for _ in range(5000)]
    paragraphs = [" ".join(rng.choice(vocabulary) for _ in range(30)) for _ in range(300)]
    text = "\n\n".join(paragraphs) + "\n"
    word = paragraphs[150].split()[4]
    check_content(text, text.replace(f" {word} ", f" {word}x ", 1), "chunk 1/1")
    with pytest.raises(ReplyRejected, match=r"drops 1 of 300 paragraphs"):
        check_content(text, "\n\n".join(paragraphs[:150] + paragraphs[151:]) + "\n", "chunk 1/1")
    shuffled = paragraphs[:]
    rng.shuffle(shuffled)
    with pytest.raises(ReplyRejected):
        check_content(text, "\n\n".join(shuffled) + "\n", "chunk 1/1")


@pytest.mark.timeout(20)
def test_many_long_replaced_stretches_are_judged_within_a_bound() -> None:
    # Words of three letters have no stems, so only character similarity (quadratic) can judge their
    # stretches: 40 stretches of ~5000 characters took ~15 s uncapped. Past the budget the rest are
    # judged by words alone, which refuses them: the safe side, nothing is applied.
    rng = random.Random(5)
    vocabulary = ["the", "and", "set", "of", "is", "it", "was", "for", "not", "but"]

    def paragraph() -> str:
        return " ".join(rng.choice(vocabulary) for _ in range(700))

    parts = [paragraph() for _ in range(80)]
    reply = [p if k % 2 else "".join(reversed(p)) for k, p in enumerate(parts)]
    with pytest.raises(ReplyRejected, match=r"replaces 1 of 80 paragraphs.*and 39 more"):
        check_content("\n\n".join(parts) + "\n", "\n\n".join(reply) + "\n", "chunk 1/1")


# --- Repeated blocks and notes glued to the document's edge ------------------------------------------

TEN = "".join(f"Paragraph {i} has teh word.\n\n" for i in range(1, 11))
TEN_FIXED = [f"Paragraph {i} has the word." for i in range(1, 11)]

REPEATS = {
    "a paragraph repeated at the end": (
        "Intro teh para.\n\nSecond para.\n",
        "Intro the para.\n\nSecond para.\n\nSecond para.\n",
        r"repeats paragraph 2 'Second para\.' \(2 copies where the input has 1\)",
    ),
    "paragraph 5 repeated in the middle": (
        TEN,
        "\n\n".join(TEN_FIXED[:5] + TEN_FIXED[4:]) + "\n",
        r"repeats paragraph 5 'Paragraph 5 has teh word\.'",
    ),
    "half the document repeated at the end (150 %)": (
        TEN,
        "\n\n".join(TEN_FIXED + TEN_FIXED[:5]) + "\n",
        r"repeats paragraph 1 'Paragraph 1 has teh word\.'.*and 4 more",
    ),
    "a reworded paragraph twice": (
        STEPS,
        STEPS.replace(PARAGRAPHS[4], "Lint the README once.\n\nLint the README once."),
        r"repeats 'Lint the README once\.' \(2 copies where the input has 0\)|replaces 1 of 10",  # strict: reworded
    ),
}


@pytest.mark.parametrize("case", list(REPEATS))
@pytest.mark.parametrize("fidelity", [STRICT, REWORDS], ids=lambda f: f.name)
def test_repeated_blocks_are_refused_whatever_the_size(case: str, fidelity: Fidelity) -> None:
    original, reply, message = REPEATS[case]
    with pytest.raises(ReplyRejected, match=message):
        check_content(original, reply, "the document", fidelity)


ONE = "This is the opening paragraph of my short note about gardening.\n"

NOTES = {
    "aside after the only paragraph": (ONE, ONE.replace(".\n", ". (I corrected one typo.)\n"), "end"),
    "a sentence after the only paragraph": (ONE, ONE.replace(".\n", ". Fixed.\n"), "end"),
    "a dash aside": (ONE, ONE.replace(".\n", " \u2014 I corrected one typo\n"), "end"),
    "a note before the first paragraph": (TEN, "Note: I fixed a typo. " + TEN.replace("teh", "the"), "start"),
    "an aside before the first paragraph": (ONE, "(Corrected.) " + ONE, "start"),
    "aside after the last of ten": (TEN, TEN.rstrip() + " (I corrected one typo.)\n", "end"),
    "after a fixed last sentence": (ONE, ONE.replace("gardening.", "gardenning. (I fixed 1 typo.)"), "end"),
}


@pytest.mark.parametrize("case", list(NOTES))
@pytest.mark.parametrize("fidelity", [STRICT, REWORDS], ids=lambda f: f.name)
def test_a_note_glued_to_the_documents_edge_is_refused(case: str, fidelity: Fidelity) -> None:
    original, reply, edge = NOTES[case]
    with pytest.raises(ReplyRejected, match=rf"adds .* at the {edge}"):
        check_content(original, reply, "the document", fidelity)


EDGE_FIXES = {
    "a word restored at the start": ("is a tool for notes.\n", "This is a tool for notes.\n"),
    "a word added at the end": (ONE, ONE.replace("gardening.", "gardening too.")),
    "first and last words fixed": ("Teh guide ends hre\n", "The guide ends here.\n"),
    "a repeated short line kept": ("# Todo\n\n- TODO\n- TODO\n- TODO\n", "# To do\n\n- TODO\n- TODO\n- TODO\n"),
    "the last paragraph split": (ONE, "This is the opening paragraph.\n\nOf my short note about gardening.\n"),
}


@pytest.mark.parametrize("case", list(EDGE_FIXES))
def test_edge_fixes_and_repeated_lines_of_the_input_pass(case: str) -> None:
    original, fixed = EDGE_FIXES[case]
    check_content(original, fixed, "the document", STRICT)


def test_a_paragraph_added_where_the_alignment_spans_a_kept_one_is_refused() -> None:
    # "para" of the first paragraph pairs with the last word of the reply, so the added paragraph lies
    # inside the first one's reply stretch, where no gap looked.
    original = "Intro teh para.\n\nSecond para.\n"
    reply = "Intro the para.\n\nI fixed one typo for you, para.\n\nSecond para.\n"
    with pytest.raises(
        ReplyRejected, match=r"adds 1 block in the middle .*starting 'I fixed one typo for you, para\.'"
    ):
        check_content(original, reply, "the document", STRICT)
