"""Filtering listed paths by gitignore-style globs.

ripgrep's own `--glob` is not used for the model's globs: rg lets an include glob override
the ignore rules, so `*` or `src/**` would pull gitignored trees (node_modules, build output)
back in. rg lists what .gitignore allows; these globs then choose among those paths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pathspec


class GlobFilter:
    """`filter(path)`: whether `path` (as shown, relative to the working directory) is wanted.

    Gitignore semantics: a glob without `/` matches a name at any depth, `**` spans
    directories, a glob naming a directory takes everything under it, `!` excludes, and the
    last matching glob decides. Only exclusions means everything else is wanted.
    """

    def __init__(self, globs: list[str], ignore_case: bool = False) -> None:
        self._fold = ignore_case
        lines = [g.strip().lower() if ignore_case else g.strip() for g in globs if g.strip()]
        if lines and all(line.startswith("!") for line in lines):
            lines.insert(0, "*")
        self._spec: pathspec.PathSpec[Any] | None = None
        if lines:
            # Imported by the first glob used: the tools' module is on every run's start path.
            import pathspec

            self._spec = pathspec.PathSpec.from_lines("gitignore", lines)

    def __call__(self, path: str) -> bool:
        if self._spec is None:
            return True
        return self._spec.match_file(path.lower() if self._fold else path)
