"""HTML to Markdown for the model, via BeautifulSoup and markdownify."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from markdownify import ATX, MarkdownConverter

# Elements whose text is not page content.
_DROP = ("script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed", "head")

_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def html_to_markdown(body: bytes, charset: str | None) -> tuple[str, str | None]:
    """The page as Markdown, and its title. `charset` comes from the Content-Type header;
    without one, BeautifulSoup reads a <meta charset> or guesses."""
    soup = BeautifulSoup(body, "html.parser", from_encoding=charset)
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup.find_all(_DROP):
        tag.decompose()
    text = MarkdownConverter(heading_style=ATX, bullets="-", strip=["img"]).convert_soup(soup)
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_RUNS.sub("\n\n", text).strip(), title or None
