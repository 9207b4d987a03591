"""Telling text from binary by the first bytes, and naming what a binary file is."""

from __future__ import annotations

import codecs
from pathlib import Path

from skipjack.tools._text import detect_bom

SNIFF_BYTES = 8192

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")

# (offset, magic, name): a short table of what a coding agent meets in a repository.
# Hand-written because the maintained detectors (python-magic) need libmagic from the OS.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "PNG image"),
    (0, b"\xff\xd8\xff", "JPEG image"),
    (0, b"GIF87a", "GIF image"),
    (0, b"GIF89a", "GIF image"),
    (0, b"%PDF-", "PDF document"),
    (0, b"PK\x03\x04", "ZIP archive"),
    (0, b"PK\x05\x06", "ZIP archive"),
    (0, b"\x1f\x8b", "gzip archive"),
    (0, b"BZh", "bzip2 archive"),
    (0, b"\xfd7zXZ\x00", "xz archive"),
    (0, b"\x28\xb5\x2f\xfd", "zstd archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (257, b"ustar", "tar archive"),
    (0, b"\x7fELF", "ELF executable"),
    (0, b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (0, b"\xfe\xed\xfa\xcf", "Mach-O executable"),
    (0, b"MZ", "Windows executable"),
    (0, b"\x00asm", "WebAssembly module"),
    (0, b"SQLite format 3\x00", "SQLite database"),
    (0, b"\xca\xfe\xba\xbe", "Java class file"),
    (0, b"BM", "BMP image"),
    (0, b"\x00\x00\x01\x00", "ICO image"),
    (0, b"II*\x00", "TIFF image"),
    (0, b"MM\x00*", "TIFF image"),
    (0, b"ID3", "MP3 audio"),
    (0, b"OggS", "Ogg media"),
    (0, b"fLaC", "FLAC audio"),
    (4, b"ftyp", "MP4/QuickTime media"),
    (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM media"),
    (0, b"wOFF", "WOFF font"),
    (0, b"wOF2", "WOFF2 font"),
    (0, b"\x00\x01\x00\x00\x00", "TrueType font"),
    (0, b"OTTO", "OpenType font"),
    (0, b"\x93NUMPY", "NumPy array"),
    (0, b"PAR1", "Parquet file"),
)


def image_mime(head: bytes) -> str | None:
    """The MIME type of a PNG, JPEG, GIF or WebP image, judged by content, not by name."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def is_binary(head: bytes) -> bool:
    """True for content that is not text: a NUL byte, or many control bytes, outside a BOM."""
    if not head:
        return False
    if detect_bom(head) is not None:
        return False  # UTF-16/32 text is full of NULs
    if b"\x00" in head:
        return True
    try:
        # Not final: the sniffed window may cut a multi-byte character at its end.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return False
    # Not UTF-8: a legacy-encoded text file has few control bytes, a binary one many.
    control = sum(1 for b in head if b < 0x20 and b not in b"\t\n\r\f\b\x1b") + head.count(0x7F)
    return control / len(head) > 0.1


def describe_binary(head: bytes, path: Path) -> str:
    """A human name for a binary file's type, from its magic bytes, else its extension."""
    name: str | None = None
    if head[:4] == b"RIFF":
        name = {b"WEBP": "WebP image", b"WAVE": "WAV audio", b"AVI ": "AVI video"}.get(head[8:12], "RIFF file")
    for offset, magic, label in _MAGIC:
        if name is None and head[offset : offset + len(magic)] == magic:
            name = label
    suffix = path.suffix.lower()
    if name is None:
        import mimetypes  # ~5 ms of start-up otherwise, for a rare case

        guessed, _ = mimetypes.guess_type(path.name)
        name = guessed or "binary data"
    if suffix and suffix.lstrip(".") not in name.lower():
        name = f"{name} ({suffix})"
    return name
