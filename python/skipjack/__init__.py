"""skipjack: a terminal coding agent whose every LLM request streams through one Rust core."""

# Kept literal (not read from package metadata) so `skipjack --version` starts fast; a test
# holds it equal to pyproject.toml's and Cargo's versions.
__version__ = "0.1.0"

__all__ = ["__version__"]
