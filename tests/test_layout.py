"""The layout holds: no import cycle among gpt_tools modules, and the layers of pyproject.toml's import-linter
contracts are kept (what each layer may import is explained by LAYERING, printed when a test fails).
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import grimp

import gpt_tools
from tests.conftest import ROOT, program

LAYERING = """\
gpt_tools is layered; a module imports only from its own layer or the layers below it:

    cli       the commands (click), the filter, the hook: everything a user runs
    lsp       the language server (`gpt-tools lsp`), a front end that only cli's lsp command imports
    compat    the seed's function names, kept for old callers
    core      the pipeline: inputs, plan, run, rewrite, guards, session, batch
    config    the config files, their schema, trust, settings and endpoint resolution
    markdown | state   (independent of each other) parsing/protecting/chunking text | every file on disk
    wire      HTTP, rate limits, backends: what goes over the network
    redact | errors    the leaves

markdown never imports wire or state. If a lower layer needs something from a higher one, move that
thing down (or pass it in as a value or a hook); never import upward, not even inside a function.
The contracts are [tool.importlinter] in pyproject.toml; run `.venv/bin/lint-imports` to see them."""


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def edges(module: str) -> list[str]:
        return sorted(graph.find_modules_directly_imported_by(module) & modules)

    for root in sorted(modules):
        if root in index:
            continue
        # Tarjan's algorithm, iteratively: the import graph is deep enough to worry the recursion limit.
        work: list[tuple[str, Iterator[str]]] = []
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work.append((root, iter(edges(root))))
        while work:
            module, pending = work[-1]
            child = next(pending, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1 or module in edges(module):
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(edges(child))))
            elif child in on_stack:
                low[module] = min(low[module], index[child])
    return found


def _explain(graph: grimp.ImportGraph, component: list[str]) -> str:
    """One cycle of a component, spelled out with the line of each import in it."""
    first = component[0]
    chain: list[str] = []
    for start in component[1:]:
        back = graph.find_shortest_chain(importer=start, imported=first)
        there = graph.find_shortest_chain(importer=first, imported=start)
        if back and there:
            chain = [*there, *back[1:]]
            break
    steps = []
    for importer, imported in pairwise(chain):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = f" (line {details[0]['line_number']})" if details else ""
        steps.append(f"  {importer} imports {imported}{where}")
    return f"{', '.join(component)}:\n" + "\n".join(steps)


def test_no_import_cycle_among_gpt_tools_modules() -> None:
    graph = grimp.build_graph("gpt_tools", cache_dir=None)
    modules = set(graph.modules)
    cycles = _cycles(graph, modules)
    report = "\n\n".join(_explain(graph, component) for component in cycles)
    assert not cycles, f"import cycles among gpt_tools modules:\n\n{report}\n\n{LAYERING}"


def test_the_import_linter_contracts_hold() -> None:
    done = subprocess.run(
        [program("lint-imports"), "--no-cache", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{LAYERING}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    # The test above can only pass honestly if _cycles sees a cycle when there is one.
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.d")
    assert _cycles(graph, {"pkg.a", "pkg.b", "pkg.c", "pkg.d"}) == [["pkg.a", "pkg.b", "pkg.c"]]


def _project_imports(path: Path) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names) of every import of gpt_tools or a submodule in path."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "gpt_tools":
                    yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "gpt_tools":
            yield node.lineno, node.module or "", tuple(alias.name for alias in node.names)


def test_the_editor_plugin_imports_only_the_public_api() -> None:
    # The plugin runs in whatever gpt_tools the editor's Python has: internals may move, gpt_tools.__all__ won't.
    plugin = ROOT / "editor" / "rplugin" / "python3" / "gpt_tools_nvim"
    public = set(gpt_tools.__all__)
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: {module} {', '.join(names)}".rstrip()
        for path in sorted(plugin.glob("*.py"))
        for line, module, names in _project_imports(path)
        if module != "gpt_tools" or not set(names) <= public
    ]
    advice = "the editor plugin imports internals (use `import gpt_tools` and its __all__):"
    assert wrong == [], "\n".join([advice, *wrong])
