"""The package's layers, checked over its imports with `ast` (every import, including those
inside functions and under TYPE_CHECKING: a lazy import is still a dependency).

front ends (cli, tui, rpc, acp, batch; testing) → controller (controller/, runtime.py) →
agent, compaction, sessions, safety → tools → the contracts tools implement (agent.tool,
agent.hooks) → config and models (read by the controller, their types passed down) → llm.

No module imports one of a higher layer, front ends do not import each other (only the
`skipjack` command's dispatcher, cli.main, starts the UI or `rpc`), no front end builds an
agent, compactor, approval policy or session attachment itself, and no two modules import
each other, directly or around a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "skipjack"

LAYERS: dict[str, int] = {
    "skipjack": 0,
    "skipjack._llm": 0,
    "skipjack.errors": 0,
    "skipjack.llm": 0,
    "skipjack.config": 1,
    "skipjack.models": 1,
    # Which folders are trusted decides which config applies: part of reading the config.
    "skipjack.safety.trust": 1,
    "skipjack.agent.tool": 2,
    "skipjack.agent.schema_cache": 2,
    "skipjack.agent.hooks": 2,
    "skipjack.tools": 3,
    # The shell tool's environment without secrets: a helper of the tools.
    "skipjack.safety.secrets": 3,
    "skipjack.agent": 4,
    "skipjack.compaction": 4,
    "skipjack.sessions": 4,
    "skipjack.safety": 4,
    "skipjack.checkpoints": 4,
    "skipjack.mcp": 4,
    "skipjack.extensions": 4,
    # The `task` tool builds child agents: beside the agent, below the controller.
    "skipjack.subagents": 4,
    "skipjack.system_prompt": 4,
    "skipjack.runtime": 5,
    "skipjack.controller": 5,
    "skipjack.cli": 6,
    "skipjack.tui": 6,
    "skipjack.rpc": 6,
    "skipjack.acp": 6,
    # Batch schedules `skipjack run` processes (it builds no agent): the CLI's `batch` command
    # is its front end.
    "skipjack.batch": 5,
    "skipjack.reports": 5,
    "skipjack.testing": 6,
}
FRONT_ENDS = ("skipjack.cli", "skipjack.tui", "skipjack.rpc", "skipjack.acp")
DISPATCHERS = {"skipjack.cli.main", "skipjack.cli.interactive"}
"""The `skipjack` command: it picks the front end (the UI, `rpc`) to start."""
BUILDERS = {"Agent", "Compactor", "ApprovalPolicy", "attach_session", "build_policy", "approval_hook", "record"}
"""What only the controller calls: a front end calling one of them has its own copy of it."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str, tree: ast.Module, known: set[str]) -> Iterator[tuple[str, int]]:
    package = name if (PACKAGE.parent / name.replace(".", "/")).is_dir() else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base, node.lineno
            for alias in node.names:
                if f"{base}.{alias.name}" in known:  # `from pkg import module`
                    yield f"{base}.{alias.name}", node.lineno


def layer(name: str) -> int:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        rank = LAYERS.get(".".join(parts[:i]))
        if rank is not None:
            return rank
    raise AssertionError(f"{name} is in no layer: add it to LAYERS in tests/test_layers.py")


def front_end(name: str) -> str | None:
    return next((f for f in FRONT_ENDS if name == f or name.startswith(f + ".")), None)


def graph() -> dict[str, set[tuple[str, int]]]:
    trees = modules()
    known = set(trees)
    return {
        name: {(target, line) for target, line in imports(name, tree, known) if target.split(".")[0] == "skipjack"}
        for name, tree in trees.items()
    }


def test_every_module_is_in_a_layer() -> None:
    for name in graph():
        layer(name)


def test_no_module_imports_a_higher_layer() -> None:
    upward = [
        f"{name}:{line} imports {target} (layer {layer(name)} → {layer(target)})"
        for name, targets in graph().items()
        if not name.endswith("__main__")
        for target, line in targets
        if layer(target) > layer(name)
    ]
    assert not upward, "\n".join(sorted(upward))


def test_front_ends_do_not_import_each_other() -> None:
    crossing = [
        f"{name}:{line} imports {target}"
        for name, targets in graph().items()
        if (mine := front_end(name)) is not None and name not in DISPATCHERS and not name.endswith("__main__")
        for target, line in targets
        if (theirs := front_end(target)) is not None and theirs != mine
    ]
    assert not crossing, "\n".join(sorted(crossing))


def test_front_ends_build_nothing_the_controller_builds() -> None:
    found = []
    for name, tree in modules().items():
        if front_end(name) is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if callee in BUILDERS:
                    found.append(f"{name}:{node.lineno} calls {callee}()")
    assert not found, "\n".join(found)


TUI_NEVER_USES = {"build_runtime", "Compactor", "SessionStore", "ApprovalPolicy", "attach_session", "Runtime"}
"""The terminal UI is a view over the controller: it neither builds nor reaches for these
(it may name the `Agent` type the controller hands out, never call `Agent(...)`)."""


def test_the_tui_builds_nothing_and_reaches_past_the_controller_for_nothing() -> None:
    found = []
    for name, tree in modules().items():
        if front_end(name) != "skipjack.tui":
            continue
        for node in ast.walk(tree):
            used = None
            if isinstance(node, ast.Name) and node.id in TUI_NEVER_USES:
                used = node.id
            elif isinstance(node, ast.Attribute) and node.attr in TUI_NEVER_USES:
                used = node.attr
            elif isinstance(node, ast.ImportFrom):
                used = next((a.name for a in node.names if a.name in TUI_NEVER_USES), None)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
                callee = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                used = f"{callee}()" if callee == "Agent" else None
            if used is not None:
                found.append(f"{name}:{node.lineno} uses {used}")
    assert not found, "\n".join(found)


def test_the_tui_hides_no_import_behind_type_checking() -> None:
    """`if TYPE_CHECKING:` imports are how the old app/bridge/commands circle was held apart:
    with the circle gone, the TUI needs none."""
    found = []
    for name, tree in modules().items():
        if front_end(name) != "skipjack.tui":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                found.append(f"{name}:{node.lineno}")
    assert not found, "\n".join(found)


def test_no_import_circle() -> None:
    edges = {name: {t for t, _ in targets if t != name} for name, targets in graph().items()}
    edges = {name: {t for t in targets if t in edges} for name, targets in edges.items()}
    # Tarjan's strongly connected components, iteratively (the package is deep enough that
    # recursion depth is a real limit on a bigger tree).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    assert not circles, "\n".join(" ↔ ".join(c) for c in circles)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from skipjack.tui.app import SkipjackApp", "skipjack.tui.app"),
        ("import skipjack.cli.main", "skipjack.cli.main"),
        ("from . import hooks", "skipjack.agent.hooks"),
        ("from ..tui import app", "skipjack.tui.app"),
    ],
)
def test_the_checker_sees_every_spelling_of_an_import(source: str, expected: str) -> None:
    """The checks above are only as good as this parser: relative imports, `from pkg import
    module` and function-local imports are all dependencies."""
    tree = ast.parse(f"def f():\n    {source}\n")
    known = {"skipjack.agent.hooks", "skipjack.tui.app", "skipjack.cli.main"}
    assert expected in {t for t, _ in imports("skipjack.agent.loop", tree, known)}


def test_layer_ranks_follow_the_architecture() -> None:
    assert layer("skipjack.llm.stream") < layer("skipjack.controller.controller")
    assert layer("skipjack.tools.bash") < layer("skipjack.agent.loop")
    assert front_end("skipjack.rpc.server") == "skipjack.rpc"
    assert front_end("skipjack.runtime") is None
