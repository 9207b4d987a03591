"""The line tag's hash characters: computed by hand for speed, they must stay exactly what
base32 of the digest gives (tags already shown to a model, and read records, depend on it)."""

from __future__ import annotations

import base64
import hashlib
import itertools
import random

from skipjack.tools._text import DIGEST_SIZE, HASH_CHARS, line_digest, line_hash, short_hash


def reference(digest: bytes) -> str:
    return base64.b32encode(digest).decode("ascii")[:HASH_CHARS].lower()


def test_every_leading_15_bits_match_base32() -> None:
    # The tag depends on the first two bytes only: cover all of them, with varied tails.
    rng = random.Random(7)
    for first, second in itertools.product(range(256), range(256)):
        digest = bytes([first, second]) + rng.randbytes(DIGEST_SIZE - 2)
        assert short_hash(digest) == reference(digest)


def test_edges_and_other_lengths() -> None:
    for digest in (b"\x00" * 5, b"\xff" * 5, b"\x80\x00\x00\x00\x00", b"\x00\x01", b"\xff\xfe", b"", b"\x07"):
        assert short_hash(digest) == reference(digest), digest
    for n in (2, 3, 16, 64):
        digest = hashlib.blake2b(b"x", digest_size=n).digest()
        assert short_hash(digest) == reference(digest)


def test_line_hash_of_real_lines() -> None:
    for text in ("", "line 1: the quick brown fox", "\t  x", "é✓\U0001f600", "a\udcff b"):
        assert line_hash(text) == reference(line_digest(text))
