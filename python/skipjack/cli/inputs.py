"""Checking what a user hands the command line: flag values, the prompt, argument errors.

Every bad value ends as one sentence and exit 2 (`UserError`), never a traceback or a run
that starts with a limit that can never be met.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import BinaryIO, NoReturn

from skipjack.errors import ExitCode, UserError

MAX_PROMPT_BYTES = 8 * 1024 * 1024
"""A prompt bigger than this is a mistake (`skipjack run < /dev/zero`), and no model's
context window would take it anyway."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the help to read, like every other error."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"skipjack: {message}; see `{self.prog} --help`\n")
        sys.exit(int(ExitCode.USAGE))


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return value


def usd_amount(text: str) -> float:
    """A finite, positive amount: `nan` would compare false against every cost and never stop
    the run, `inf` never stops it either, and a limit at or below zero stops before anything."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an amount of USD such as 0.50, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite amount of USD above 0, not {text!r}")
    return value


def base_url(text: str) -> str:
    """An http(s) URL with a host: anything else fails only after a whole turn of retries."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL ({e})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL with a host, not {text!r}")
    return text


def check_text_argument(name: str, value: str | None) -> None:
    """Reject an argument that is not valid UTF-8: Python hands undecodable bytes over as lone
    surrogates, which fail much later when the text is encoded for the request or the session."""
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(f"the {name} is not valid UTF-8 text") from None


def read_prompt(stream: BinaryIO, limit: int = MAX_PROMPT_BYTES) -> str:
    """The prompt from stdin as bytes, bounded and strictly decoded: `sys.stdin`'s text layer
    would turn bad bytes into surrogates that fail later, deep in the run."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise UserError(f"the prompt on stdin is larger than {limit // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"the prompt on stdin is not UTF-8 text ({e.reason} at byte {e.start})") from None
