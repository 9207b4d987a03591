"""Text files as the tools see them: encodings, line endings, and `LINE:HASH` tags.

A tag names a line by its 1-based number and a short hash of its text (without its line
ending), e.g. `12:k4q`. The read tool shows `12:k4q|text`; the edit tool refuses a tag whose
hash no longer matches the line on disk, so an edit can never land on a line that moved or
changed since the model saw it.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import re

import msgspec

HASH_CHARS = 3
"""Three base32 characters: 15 bits, so a changed line goes unnoticed 1 time in 32768."""

# Lines end at "\r\n", "\r" or "\n", the same rule as `open(..., newline="")`, which the read
# tool streams with; the edit tool splits with this pattern so both number lines alike.
# `str.splitlines` is not used: it also splits at form feeds and U+2028, which code contains.
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

_EOL_RE = re.compile(r"\r\n|\r|\n")

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


DIGEST_SIZE = 5
"""Bytes of a line's digest: the tag shows 15 bits of it; read records keep all 40 per line."""


def line_digest(text: str) -> bytes:
    """The digest of one line's text (line ending excluded) that its tag is cut from."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=DIGEST_SIZE).digest()


_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
"""RFC 4648 base32's alphabet, lower case."""


def short_hash(digest: bytes) -> str:
    """The tag's hash characters from a line digest: the first `HASH_CHARS` characters of its
    lower-case base32, i.e. its leading 15 bits, five to a character."""
    if HASH_CHARS != 3 or len(digest) < 2:
        return base64.b32encode(digest).decode("ascii")[:HASH_CHARS].lower()
    # By hand: `b32encode` is pure Python and encoded the whole digest to keep 3 characters,
    # ~10 us per line, paid for every line a read shows.
    bits = (digest[0] << 7) | (digest[1] >> 1)
    return _BASE32[bits >> 10] + _BASE32[(bits >> 5) & 31] + _BASE32[bits & 31]


def line_hash(text: str) -> str:
    """Short hash of one line's text, line ending excluded."""
    return short_hash(line_digest(text))


def line_digests(text: str) -> bytes:
    """Every line's digest, concatenated (`DIGEST_SIZE` bytes a line)."""
    return b"".join(line_digest(line) for line in line_texts(text))


def tag(lineno: int, text: str) -> str:
    return f"{lineno}:{line_hash(text)}"


def strip_eol(line: str) -> str:
    """One line (as `split_lines` or `open(newline="")` yields it) without its ending."""
    return line.rstrip("\r\n")  # the text before an ending holds no \r or \n


def split_lines(text: str) -> list[str]:
    """Lines with their endings kept; the last one may have none."""
    return _LINE_RE.findall(text)


def line_texts(text: str) -> list[str]:
    """The lines' texts without endings: `[strip_eol(x) for x in split_lines(text)]`, faster."""
    if not text:
        return []
    parts = text.split("\n") if "\r" not in text else _EOL_RE.split(text)
    if parts[-1] == "":
        parts.pop()
    return parts


def dominant_eol(text: str) -> str:
    """The most common line ending ("\\n" when there is none or a tie)."""
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    cr = text.count("\r") - crlf
    if crlf > lf and crlf >= cr:
        return "\r\n"
    if cr > lf and cr > crlf:
        return "\r"
    return "\n"


class TextFormat(msgspec.Struct, frozen=True):
    """How a file's text is stored, so a rewrite keeps it: codec, BOM and usual line ending."""

    encoding: str
    bom: bytes
    eol: str

    @property
    def label(self) -> str:
        return self.encoding.upper() + (" with BOM" if self.bom else "")


class UndecodableError(ValueError):
    """The bytes are not text in any encoding the tools write back faithfully."""


def detect_bom(data: bytes) -> tuple[str, bytes] | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, bom
    return None


def read_codec(head: bytes) -> str:
    """The codec name that decodes a stream starting with `head` and drops its BOM."""
    found = detect_bom(head)
    if found is None:
        return "utf-8"
    return {"utf-8": "utf-8-sig", "utf-16-le": "utf-16", "utf-16-be": "utf-16"}.get(found[0], "utf-32")


def decode(data: bytes) -> tuple[str, TextFormat]:
    """Decode a whole file strictly: BOM-marked UTF-8/16/32, else UTF-8.

    Raises `UndecodableError` rather than guessing a legacy code page: writing such a file
    back through a guess could silently change bytes the edit never touched.
    """
    found = detect_bom(data)
    encoding, bom = found if found is not None else ("utf-8", b"")
    try:
        text = data[len(bom) :].decode(encoding)
    except UnicodeDecodeError as exc:
        raise UndecodableError(
            f"not valid {encoding.upper()} (byte 0x{data[len(bom) + exc.start]:02x} at offset "
            f"{len(bom) + exc.start}); only UTF-8 and BOM-marked UTF-16/UTF-32 files can be changed"
        ) from exc
    return text, TextFormat(encoding, bom, dominant_eol(text))


def encode(text: str, fmt: TextFormat) -> bytes:
    return fmt.bom + text.encode(fmt.encoding)


def to_eol(text: str, eol: str) -> str:
    """`text` with every line ending made `eol`."""
    unified = text.replace("\r\n", "\n").replace("\r", "\n")
    return unified if eol == "\n" else unified.replace("\n", eol)


def tagged_lines(lines: list[str], first: int, last: int) -> list[str]:
    """`LINE:HASH|text` for the 1-based inclusive range [first, last] of `lines` (endings optional)."""
    out = []
    for lineno in range(max(first, 1), min(last, len(lines)) + 1):
        text = strip_eol(lines[lineno - 1])
        out.append(f"{tag(lineno, text)}|{text}")
    return out
