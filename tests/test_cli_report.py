"""cli/report.py (one failure line and status for every front end, diffs) and the cli's import layout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from gpt_tools.cli import report
from gpt_tools.cli.console import Console
from gpt_tools.errors import Cancelled, InputRefused, RunFailed


@pytest.mark.parametrize(
    ("exc", "status", "said"),
    [
        (InputRefused("a.md looks like it holds a key"), 2, "a.md looks like it holds a key; left alone"),
        (RunFailed("cannot reach the server"), 1, "cannot reach the server; left alone"),
        (Cancelled("cancelled"), 130, "cancelled; left alone"),
        (KeyboardInterrupt(), 130, "interrupted; left alone"),
        (ValueError("bug"), 1, "internal error (ValueError: bug); left alone"),
    ],
)
def test_fail_says_why_and_gives_the_shared_status(
    exc: BaseException, status: int, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report.fail(Console("prog"), exc, after="; left alone") == status
    assert said in capsys.readouterr().err


def test_diff_is_cut_at_its_limit() -> None:
    before = "".join(f"line {n}\n" for n in range(200)).encode()
    after = before.replace(b"line ", b"LINE ")
    shown = report.diff("a.md", before, after)
    assert shown.startswith("--- a/a.md\n+++ b/a.md\n")
    assert shown.count("\n") == report.DIFF_LINES + 1
    assert shown.endswith("more diff lines)\n")


def test_diff_keeps_a_form_feed_inside_its_line() -> None:
    # Markdown's lines: str.splitlines would cut this line in two and show a change that is not there.
    shown = report.diff("a.md", b"a\x0cb\nc\n", b"a\x0cb\nC\n")
    assert "-c\n+C\n" in shown and " a\x0cb\n" in shown


def test_no_module_of_the_cli_imports_its_entry_point() -> None:
    graph = grimp.build_graph("gpt_tools")
    importers = graph.find_modules_that_directly_import("gpt_tools.cli.main")
    assert importers == set()


def test_no_import_cycle_in_gpt_tools() -> None:
    graph = grimp.build_graph("gpt_tools")
    cycles = {
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.find_shortest_chain(importer=imported, imported=module)
    }
    assert cycles == set()


def _loaded_by(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith('gpt_tools'))))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    return list(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "from gpt_tools.cli.main import main\nimport contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()): main(['--help'])",
        "from gpt_tools.cli.filter import main",
    ],
    ids=["gpt-tools --help", "gpt-filter before its input"],
)
def test_start_up_imports_neither_the_core_nor_the_wire(code: str) -> None:
    loaded = _loaded_by(code)
    assert "gpt_tools.cli.console" in loaded
    assert [m for m in loaded if m.startswith(("gpt_tools.core", "gpt_tools.wire", "gpt_tools.compat"))] == []


def test_a_filter_run_imports_neither_click_nor_the_conversation_listing(tmp_path: Path) -> None:
    """gpt-filter parses its argv with argparse: click (with uuid and platform) cost a Vim filter call
    about 25 ms when the per-run options' checks pulled it in (bench/RESULTS.md)."""
    probe = (
        "import io, json, sys\n"
        "sys.argv = ['gpt-filter', 'MarkdownLinter', '--dry-run', '-O', 'reasoning_effort', 'low']\n"
        "from gpt_tools.cli.filter import main\n"
        "import contextlib\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    status = main()\n"
        "print(json.dumps([status, sorted(m for m in sys.modules if m.split('.')[0] in ('click', 'uuid')"
        " or m == 'gpt_tools.state.conversation_list')]))"
    )
    env = {**os.environ, "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    done = subprocess.run(
        [sys.executable, "-c", probe], input="# T\n\nteh text\n", capture_output=True, text=True, env=env, cwd=tmp_path
    )
    status, loaded = json.loads(done.stdout.splitlines()[-1])
    assert (status, loaded) == (0, [])
