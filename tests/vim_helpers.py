"""A real, headless Vim with only our plugin loaded (editor/ on the runtimepath), for the Vim tests."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import BIN, ROOT

EDITOR = ROOT / "editor"

# Wait (up to 30 s) for a :GptFilter job to end: callbacks run while Vim sleeps, as while it waits for keys.
WAIT = """
let s:waited = 0
while empty(g:gpt_tools_last) && s:waited < 1500
  sleep 20m
  let s:waited += 1
endwhile
"""

REPORT = """
call writefile([json_encode({'errmsg': v:errmsg, 'last': g:gpt_tools_last, 'messages': execute('messages'),
      \\ 'status': g:gpt_tools_status, 'windows': winnr('$'), 'lines': getline(1, '$'),
      \\ 'other': winnr('$') > 1 ? getbufline(winbufnr(winnr('$') == winnr() ? 1 : winnr('$')), 1, '$') : []})],
      \\ g:report_file)
silent! wall
qa!
"""


@dataclass(frozen=True, kw_only=True)
class VimRun:
    """What Vim had at the end: v:errmsg, g:gpt_tools_last, :messages, the current buffer's lines."""

    errmsg: str
    last: dict[str, Any]
    messages: str
    status: str
    windows: int
    lines: list[str]
    other: list[str]  # another window's lines (the conflict split, or the buffer next to it)


def vim_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def run_vim(
    path: Path | None, *commands: str, wait: bool = False, cwd: Path | None = None, timeout: float = 60
) -> VimRun:
    """Run commands in Vim on path (then wait for the job when wait), write every buffer and quit."""
    folder = cwd or Path.cwd()
    script = folder / "_test_script.vim"
    report = folder / "_test_report.json"
    lines = [f"let g:report_file = {json.dumps(str(report))}", "let g:gpt_tools_last = {}", *commands]
    script.write_text("\n".join(lines) + "\n" + (WAIT if wait else "") + REPORT, encoding="utf-8")
    argv = ["vim", "-Es", "-N", "-u", "NONE", "-i", "NONE", "--cmd", "set encoding=utf-8"]
    argv += ["--cmd", f"set rtp^={EDITOR}"]
    argv += ["--cmd", "runtime plugin/gpt_tools.vim", "-S", str(script)]
    if path is not None:
        argv.append(str(path))
    subprocess.run(argv, env=vim_env(), cwd=folder, capture_output=True, timeout=timeout, start_new_session=True)
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    finally:
        script.unlink()
        report.unlink(missing_ok=True)
    return VimRun(**data)
