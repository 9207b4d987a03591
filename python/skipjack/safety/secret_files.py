"""Where credentials live on disk: one list for the sandbox (which hides them from commands) and
the approval policy (which asks before a file tool reads them), so the two cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

SENSITIVE_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/ssl/private")
"""Secrets a command never needs to read. Root keeps read access to root-owned files inside the
sandbox, so hiding them is the only way."""

SENSITIVE_HOME = (
    ".ssh",
    ".aws",
    ".azure",
    ".gnupg",
    ".kube",
    ".docker",
    ".password-store",
    ".config/gcloud",
    ".config/gh",
    ".netrc",
    ".git-credentials",
    ".config/git/credentials",
    ".pgpass",
    ".npmrc",
    ".yarnrc",
    ".yarnrc.yml",
    ".pypirc",
    ".config/pip",
    ".pip",
    ".m2/settings.xml",
    ".gradle/gradle.properties",
    ".composer/auth.json",
    ".config/composer/auth.json",
    ".gem/credentials",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".vault-token",
    ".terraform.d/credentials.tfrc.json",
    ".config/hub",
    ".config/rclone",
    ".s3cfg",
    ".boto",
    ".oci",
    ".config/doctl",
    ".config/op",
    ".config/github-copilot",
    ".huggingface",
    ".cache/huggingface/token",
    ".config/huggingface",
    ".codex/auth.json",
    ".claude/.credentials.json",
    ".local/share/keyrings",
    # Shell and REPL histories hold whatever was typed: `export X_TOKEN=…`, `mysql -p…`.
    ".bash_history",
    ".zsh_history",
    ".local/share/fish/fish_history",
    ".python_history",
    ".psql_history",
    ".mysql_history",
    ".node_repl_history",
    # Browser profiles: session cookies are credentials.
    ".mozilla",
    ".config/google-chrome",
    ".config/chromium",
    ".config/BraveSoftware",
)
"""Relative to the home directory."""


def home_dir() -> Path:
    return Path(os.path.realpath(os.path.expanduser(os.environ.get("HOME") or Path.home())))


def secret_locations(extra: Sequence[Path] = ()) -> list[Path]:
    """Every credential file or directory (real paths, whether or not it exists), with `extra`
    (the user's skipjack config dir: it may hold keys)."""
    home = home_dir()
    found = [Path(p) for p in SENSITIVE_FILES] + [home / p for p in SENSITIVE_HOME] + list(extra)
    return list(dict.fromkeys(Path(os.path.realpath(p)) for p in found))
