"""skipjack: a terminal coding agent whose every LLM request streams through one Rust core."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("skipjack")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["__version__"]
