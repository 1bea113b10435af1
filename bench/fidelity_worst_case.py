"""Content-guard benchmark (issue 9): the worst cases of `fidelity.check_content`, which runs on every
chunk a rewriting assistant returns (the hook, gpt-filter, run -o), so its time is the editor's wait.

Each case is a document made to be hard for a word aligner (many similar lines, a long table with no
distinctive word, one huge paragraph, random words, a reply holding the document twice) and a reply
that must be accepted (a typo-level fix) or refused (a block dropped or added). Every case runs in a
child process with a time limit, so a pathological version shows as "> LIMIT" rather than hanging the
benchmark, and the verdict is checked. Figures: the best of R runs per case, in seconds.

    python bench/fidelity_worst_case.py [--rounds 3] [--limit 60]

To measure another version of the module, put its tree first on the path (PYTHONPATH=/tmp/old).
Exit status: 0 every verdict right and within the limit, 1 otherwise. Standard library and the project.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from collections.abc import Callable

WORDS = ["the", "value", "of", "each", "field", "is", "set", "when", "form", "loads", "and", "kept", "until", "it"]


def _changelog(n: int) -> str:
    return "# Changelog\n\n" + "".join(f"- teh value of the field is set {i}\n" for i in range(n))


def _numbered(n: int) -> str:
    return "# Changelog\n\n" + "".join(f"- Fixed the parser for item {i} in the release notes\n" for i in range(n))


def _zeros(n: int) -> str:
    return "# Data\n\n| a | b | c | d |\n|---|---|---|---|\n" + "| 0 | 0 | 0 | 0 |\n" * n


def _paragraph(n: int) -> str:
    rng = random.Random(7)
    return " ".join(rng.choice(WORDS) for _ in range(n)) + ".\n\nThe end of the notes, with thanks.\n"


def _random_words(paragraphs: int) -> str:
    rng = random.Random(11)
    vocabulary = ["".join(rng.choice("abcdefghij") for _ in range(rng.randint(3, 9))) for _ in range(5000)]
    return "".join(" ".join(rng.choice(vocabulary) for _ in range(30)) + "\n\n" for _ in range(paragraphs))


def _drop_line(text: str, index: int) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(lines[:index] + lines[index + 1 :])


def _every_100th(text: str, change: Callable[[str], str]) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(change(line) if k % 100 == 50 else line for k, line in enumerate(lines))


def _cases() -> dict[str, tuple[Callable[[], tuple[str, str]], bool]]:
    """name: (make the document and the reply, whether the guard must accept it)."""
    return {
        "300 similar lines, every line fixed (10 KB)": (lambda: (d := _changelog(300), d.replace("teh", "the")), True),
        "300 similar lines, one dropped": (lambda: (d := _changelog(300), _drop_line(d, 152)), False),
        "300 numbered lines, one dropped": (
            lambda: (d := _numbered(300), d.replace("- Fixed the parser for item 150 in the release notes\n", "")),
            False,
        ),
        "3000 similar lines, every line fixed (110 KB)": (
            lambda: (d := _changelog(3000), d.replace("teh", "the")),
            True,
        ),
        "3000 similar lines, one dropped": (lambda: (d := _changelog(3000), _drop_line(d, 1502)), False),
        "3000 similar lines, every other one dropped": (
            lambda: (d := _changelog(3000), "".join(d.splitlines(keepends=True)[::2])),
            False,
        ),
        "3000 similar lines, every other one reworded": (
            lambda: (
                d := _changelog(3000),
                "".join(
                    line if k % 2 else f"- the form loads each value when it is kept {k - 2}\n"
                    for k, line in enumerate(d.splitlines(keepends=True))
                ),
            ),
            False,
        ),
        "3000 similar lines, document twice": (lambda: (d := _changelog(3000), d + "\n" + d), False),
        "table of 3000 zero rows, 30 cells changed": (
            lambda: (d := _zeros(3000), _every_100th(d, lambda row: row.replace("| 0 |", "| o |", 1))),
            True,
        ),
        "table of 3000 zero rows, 30 rows dropped": (
            lambda: (d := _zeros(3000), _every_100th(d, lambda row: "")),
            False,
        ),
        "one paragraph of 20,000 common words, 200 typos fixed": (
            lambda: (d := _paragraph(20_000), d.replace("value", "valeu", 200)),
            True,
        ),
        "one paragraph of 20,000 common words, the next dropped": (
            lambda: (d := _paragraph(20_000), d[: d.index("The end")]),
            False,
        ),
        "300 paragraphs of random words, typo fixed": (
            lambda: (d := _random_words(300), d.replace(d.split()[500], d.split()[500] + "x")),
            True,
        ),
        "300 paragraphs of random words, one dropped": (
            lambda: (d := _random_words(300), "\n\n".join(d.split("\n\n")[:150] + d.split("\n\n")[151:])),
            False,
        ),
    }


def _child(name: str) -> None:
    from gpt_tools.core.fidelity import check_content
    from gpt_tools.errors import ReplyRejected

    original, reply = _cases()[name][0]()
    started = time.perf_counter()
    try:
        check_content(original, reply, "the chunk")
        verdict = "accepted"
    except ReplyRejected:
        verdict = "refused"
    print(f"{time.perf_counter() - started:.4f} {verdict} {len(original)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per case before it is stopped")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        _child(args.case)
        return 0
    ok = True
    print("| case | input | verdict | best (s) |\n|---|---:|---|---:|")
    for name, (_, accept) in _cases().items():
        best, verdict, size = float("inf"), "", "?"
        for _ in range(args.rounds):
            try:
                out = subprocess.run(
                    [sys.executable, __file__, "--case", name],
                    capture_output=True,
                    text=True,
                    timeout=args.limit,
                    check=True,
                ).stdout.split()
            except subprocess.TimeoutExpired:
                best, verdict = float("inf"), "stopped"
                break
            best, verdict, size = min(best, float(out[0])), out[1], f"{int(out[2]) // 1000} KB"
        right = verdict == ("accepted" if accept else "refused")
        ok = ok and right
        shown = f"> {args.limit:.0f}" if best == float("inf") else f"{best:.3f}"
        print(f"| {name} | {size} | {verdict}{'' if right else ' (WRONG)'} | {shown} |", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
