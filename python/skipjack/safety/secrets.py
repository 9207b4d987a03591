"""Secrets out of the model's reach: the shell's environment without credentials, and tool
output scrubbed of the credential values skipjack knows.

Two layers, because neither is enough alone: the environment filter stops `env` or a child
program from seeing a key; the redactor catches a key that reaches output some other way
(a config file, `/proc/<pid>/environ`, a `.env` file read by a tool).
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase

SECRET_NAME = re.compile(
    r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|AUTH(?!ORS?(?:_|$))|COOKIE|(?:^|_)PAT(?:$|_)|(?:^|_)PASS(?:$|_)|"
    r"_PWD(?:$|_)|DSN|WEBHOOK|CONNECTION_?STRING|CONN_?STR|JWT|(?:^|_)SK(?:$|_)",
    re.IGNORECASE,
)
"""Variable names that look like they hold a credential: `*KEY*` (AWS_ACCESS_KEY_ID,
OPENAI_API_KEY), `*TOKEN*` (GITHUB_TOKEN, AWS_SESSION_TOKEN), `*SECRET*`, `*PASSWORD*` and
`*PASSWD*`, `*_CREDENTIALS` (GOOGLE_APPLICATION_CREDENTIALS), `*AUTH*` (AUTHORIZATION too) but not `*AUTHOR_*`
(SSH_AUTH_SOCK reaches the user's SSH agent; GIT_AUTHOR_NAME is no secret), personal access
tokens (`*_PAT`), `*_PASS`, `*_PWD` (MYSQL_PWD; not PWD or OLDPWD), DSNs and webhook URLs (the URL
is the credential: SENTRY_DSN, SLACK_WEBHOOK_URL), connection strings (Azure's hold an
AccountKey), JWTs, `*_SK` (a secret key's usual short name). Not `*PRIVATE*`: GOPRIVATE is a
module pattern, and a private key's variable says KEY anyway."""

HARMLESS_NAMES = frozenset({"TOKENIZERS_PARALLELISM"})
"""Names the patterns catch that configure a tool rather than hold a secret."""

_URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", re.IGNORECASE)
"""A value like `postgres://user:pw@host/db` carries a password whatever its name."""

MIN_SECRET_LEN = 8
"""Shorter values are too likely to occur by chance (`1`, `true`, `en_US`) to scrub."""


def is_secret_name(name: str, key_vars: Iterable[str] = ()) -> bool:
    return name in set(key_vars) or (name not in HARMLESS_NAMES and SECRET_NAME.search(name) is not None)


def _passes(name: str, passthrough: Iterable[str]) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in passthrough)


def shell_env(env: Mapping[str, str], *, key_vars: Iterable[str], passthrough: Iterable[str]) -> dict[str, str]:
    """`env` without the provider key variables (`key_vars`), anything whose name looks like a
    secret, or a URL with a password in it; names matching a `passthrough` glob stay."""
    keys = set(key_vars)
    allowed = list(passthrough)
    return {
        name: value
        for name, value in env.items()
        if _passes(name, allowed) or not (is_secret_name(name, keys) or _URL_WITH_PASSWORD.search(value))
    }


def secret_values(
    env: Mapping[str, str], *, key_vars: Iterable[str], config_keys: Mapping[str, str] = {}
) -> dict[str, str]:
    """Label -> value of every credential skipjack can see: the key variables and secret-looking
    variables of `env` (passthrough ones too: kept for the shell, still not for the model) and
    config's `[keys]` (labelled `keys.<provider>`)."""
    keys = set(key_vars)
    out: dict[str, str] = {}
    for name, value in env.items():
        if is_secret_name(name, keys) or _URL_WITH_PASSWORD.search(value):
            out[name] = value
    for provider, value in config_keys.items():
        out[f"keys.{provider}"] = value
    return out


def encoded_forms(value: str) -> list[str]:
    """The spellings a value takes in output without anyone trying to hide it: URL-encoded (a
    key in a query string), hex, and base64 at each of the three alignments it can have inside
    a longer encoded string (`Authorization: Basic base64(user:KEY)` in `curl -v` output),
    standard and URL-safe, cut to the characters that depend on the value alone."""
    raw = value.encode()
    quoted = (urllib.parse.quote(value, safe=""), urllib.parse.quote(value), urllib.parse.quote_plus(value))
    forms = {*quoted, raw.hex(), raw.hex().upper()}
    for lead in range(3):
        total = lead + len(raw)
        # Characters that mix in a neighbouring byte: the first ones after a lead, and the
        # last group when it is partial.
        start = (lead * 4 + 2) // 3
        end = (total // 3) * 4
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.add(encode(bytes(lead) + raw).decode()[start:end])
    return [f for f in forms if len(f) >= MIN_SECRET_LEN and f != value]


class Redactor:
    """Replaces every known secret value with `[redacted: NAME]`."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        by_value: dict[str, str] = {}
        for label, value in secrets.items():
            value = value.strip()
            if len(value) >= MIN_SECRET_LEN:
                by_value.setdefault(value, label)
        for value, label in list(by_value.items()):
            for variant in encoded_forms(value):
                by_value.setdefault(variant, label)
        self._labels = by_value
        # Longest first, so a key that contains another key is replaced whole.
        ordered = sorted(by_value, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self.longest = len(ordered[0]) if ordered else 0
        self.first_chars = frozenset(v[0] for v in ordered)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def redact(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda m: f"[redacted: {self._labels[m.group(0)]}]", text)

    def stream(self) -> StreamRedactor:
        return StreamRedactor(self)

    def could_start(self, tail: str) -> bool:
        """Whether `tail` is the beginning of some secret (so it must wait for the next chunk)."""
        return any(value.startswith(tail) for value in self._labels)


class StreamRedactor:
    """Redacts a stream of chunks: a secret split across chunks is still replaced whole.

    The end of each chunk that could be the start of a secret is held back until the next
    chunk shows whether it is; `flush()` releases what is left when the stream ends.
    """

    def __init__(self, redactor: Redactor) -> None:
        self._r = redactor
        self._held = ""

    def feed(self, chunk: str) -> str:
        if not self._r:
            return chunk
        text = self._held + chunk
        keep = self._partial_suffix(text)
        self._held = text[len(text) - keep :] if keep else ""
        return self._r.redact(text[: len(text) - keep])

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._r.redact(text)

    def _partial_suffix(self, text: str) -> int:
        """Length of the longest suffix of `text` that is a proper prefix of a secret, or that
        would be cut by redacting now (a match ending at the very end could grow longer)."""
        firsts = self._r.first_chars
        for i in range(max(0, len(text) - self._r.longest), len(text)):
            if text[i] in firsts and self._r.could_start(text[i:]):
                return len(text) - i
        return 0
