"""Hostile program output against the terminal sanitiser: nothing but SGR may come out, in
whatever pieces the bytes arrive."""

from __future__ import annotations

import random
import re

import pytest

from skipjack.terminal_text import MAX_LINE, TerminalText, sanitize, strip_sgr

SAFE = re.compile(r"(?:\x1b\[0(?:;[0-9:;]*)?m|[^\x00-\x09\x0b-\x1f\x7f-\x9f])*")
"""Canonical SGR sequences, newlines and printable text: nothing else may be emitted."""

HOSTILE = [
    "\x1b[2J\x1b[H",  # clear screen, home
    "\x1b]0;pwned title\x07",  # OSC title, BEL-terminated
    "\x1b]2;pwned title\x1b\\",  # OSC title, ST-terminated
    "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\",  # hyperlink
    "\x1b]52;c;ZXZpbA==\x07",  # clipboard write
    "\x1bP+q544e\x1b\\",  # DCS XTGETTCAP
    "\x1b_Gf=100;AAAA\x1b\\",  # APC kitty graphics
    "\x1b^privacy\x1b\\",  # PM
    "\x1bXsos\x1b\\",  # SOS
    "\x1b[6n",  # cursor position report: the answer would be typed into the prompt
    "\x1b[c\x1b[>c\x1b[=c",  # device attributes
    "\x1b[?1049h\x1b[?1000h\x1b[?25l",  # alternate screen, mouse, hide cursor
    "\x1b[10;20H\x1b[5A\x1b[3C",  # cursor moves
    "\x1b[1;24r",  # scroll region
    "\x1bc",  # full reset
    "\x1b(0lqk\x1b(B",  # line drawing charset
    "\x1b7\x1b8\x1bD\x1bM\x1bE",  # save/restore, index, reverse index, next line
    "\x9b2J\x9b6n",  # 8-bit CSI
    "\x9d0;c1 title\x9c",  # 8-bit OSC with 8-bit ST
    "\x90qdcs\x9c\x9fapc\x9c\x9epm\x9c\x98sos\x9c",  # 8-bit DCS/APC/PM/SOS
    "\x85\x84\x88\x8d\x8e\x8f",  # NEL, IND, HTS, RI, SS2, SS3
    "\x07\x0e\x0f\x00\x7f\x05",  # BEL, SO, SI, NUL, DEL, ENQ (answerback)
    "\x1b[" + "9" * 10_000 + "m",  # a huge parameter
    "\x1b[38;2;255;0;0mtrue colour\x1b[0m",
    "\x1b[?5m\x1b[>4;2m",  # private SGR-looking sequences (modifyOtherKeys)
]


def safe(out: str) -> bool:
    return SAFE.fullmatch(out) is not None


@pytest.mark.parametrize("attack", HOSTILE)
def test_no_control_gets_through_whole_or_split(attack: str) -> None:
    text = f"before{attack}after\n"
    assert safe(sanitize(text, colour=True))
    assert safe(sanitize(text))
    plain = strip_sgr(sanitize(text, colour=True))
    assert plain.startswith("before")
    assert plain.rstrip("\n").endswith("after")
    # Every split point: a sequence cut across two reads is still recognised whole.
    whole = sanitize(text, colour=True)
    cuts = range(1, len(text)) if len(text) < 500 else [*range(1, 200), *range(len(text) - 200, len(text))]
    for cut in cuts:
        term = TerminalText()
        term.feed(text[:cut])
        term.feed(text[cut:])
        term.finish()
        assert term.text() + "\n" == whole, f"split at {cut}"


def test_titles_and_payloads_do_not_leak_as_text() -> None:
    out = sanitize("a\x1b]0;pwned title\x07b\x9d0;c1 title\x9cc\x1b_Gf=100;AAAA\x1b\\d")
    assert out == "abcd"


def test_colours_survive_and_reset() -> None:
    out = sanitize("\x1b[1;31merror\x1b[0m: \x1b[32mok\x1b[m done", colour=True)
    assert strip_sgr(out) == "error: ok done"
    assert "\x1b[0;1;31merror" in out
    assert "\x1b[0;32mok" in out
    assert out.endswith("done\x1b[0m")
    assert "\x1b[0;32mok done" not in out


def test_carriage_return_rewrites_the_line_like_a_progress_bar() -> None:
    assert sanitize("10%\r20%\r100%\n") == "100%\n"
    assert sanitize("Downloading 10%\rDone\n") == "Doneloading 10%\n"  # as a terminal shows it
    assert sanitize("building\r\x1b[Kdone\n") == "done\n"  # cargo/pip: CR + erase line
    assert sanitize("\x1b[2K\rfinished") == "finished"
    assert sanitize("abc\b\bX") == "aXc"
    assert sanitize("\b\b\bstart") == "start"  # backspace never goes left of the line
    assert sanitize("a\tb") == "a       b"
    assert sanitize("line1\r\nline2\r\n") == "line1\nline2\n"  # CRLF output


def test_unfinished_sequence_at_the_end_is_dropped() -> None:
    for tail in ("\x1b", "\x1b[", "\x1b[31", "\x1b]0;title", "\x1bP", "\x9b", "\x9d0;x"):
        assert sanitize("ok" + tail) == "ok"


def test_an_osc_that_never_ends_swallows_nothing_dangerous_and_stays_bounded() -> None:
    term = TerminalText()
    term.feed("x\x1b]0;")
    for _ in range(1000):
        term.feed("A" * 1000)
    term.feed("\x07y\n")
    assert term.text() == "xy"


def test_random_hostile_streams_stay_safe() -> None:
    rng = random.Random(1717)
    alphabet = ["a", "b", " ", "\n", "\r", "\b", "\t", "\x1b", "[", "]", "P", "_", "\\", ";", "0", "2", "m", "J"]
    alphabet += ["H", "\x07", "\x9b", "\x9c", "\x9d", "\x90", "\x85", "\x00", "\x7f", "?", "K", "é", "漢"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 200)))
        term = TerminalText()
        pos = 0
        while pos < len(text):
            step = rng.randint(1, 7)
            term.feed(text[pos : pos + step])
            pos += step
        term.finish()
        assert safe(term.text()), repr(text)
        assert safe(sanitize(text, colour=True)), repr(text)


def test_an_endless_line_is_broken_not_held_whole() -> None:
    term = TerminalText(max_lines=3)
    term.feed("." * (MAX_LINE * 5 + 7))
    assert len(term.lines) == 3
    assert term.dropped == 2
    assert len(term.current) == 7


def test_colour_state_is_bounded() -> None:
    term = TerminalText()
    for _ in range(10_000):
        term.feed("\x1b[1;38;5;200m")
    term.feed("x")
    assert len(term.current) < 200
    assert safe(term.current)
