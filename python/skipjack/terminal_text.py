"""Untrusted program output made safe to show in a terminal: SGR colours kept, nothing else.

A command's output (`!cmd`, the agent's `bash`, an error line) must never drive the terminal
it is shown on: no clearing the screen, moving the cursor, setting the title (OSC), querying
the terminal (DA, DSR: the answer would arrive as typed input), DCS/APC/PM/SOS payloads or
their 8-bit C1 forms. `TerminalText` reads the output the way a terminal's parser does (the
DEC/ECMA-48 state machine, so a sequence split across chunks is recognised whole) and keeps
only what is safe:

- printable text, tabs and newlines;
- SGR (`CSI … m`) colours and attributes, re-emitted in a canonical form;
- carriage return and backspace interpreted as the line rewrite they are (progress bars:
  pip, cargo, npm), and `CSI K` (erase in line) too, which they pair with `\\r`;
- everything else (other CSI, ESC sequences, OSC/DCS/APC/PM/SOS strings, C0 and C1 controls,
  DEL) dropped, including a sequence left unfinished when the output ends.

Written by hand rather than with a terminal emulator (`pyte`): output here is a scrollback
log of unbounded height, not a fixed grid, and an emulator would also act on the cursor
movements we must ignore.
"""

from __future__ import annotations

import re
from collections import deque

ESC = "\x1b"
_SGR_RESET = "\x1b[0m"
_MAX_PARAMS = 64
"""Longer CSI parameter strings are not colours: dropped, and never buffered without bound."""
MAX_LINE = 50_000
"""Cells of one line held for rewriting; a longer line is broken there (a 1 GB line of dots
must not become a 1 GB Python list)."""
_TAB = 8

# Anything that is not plain printable text: C0 controls, DEL, C1 controls.
_SPECIAL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SGR_PARAMS = re.compile(r"[0-9;:]*")
_ANSI_SGR = re.compile(r"\x1b\[[0-9;:]*m")

# Parser states (ECMA-48 / the DEC VT500 parser, reduced to what decides where a sequence ends).
_GROUND, _ESCAPE, _CSI, _STRING, _STRING_ESC = range(5)

_C1_CSI = "\x9b"
_C1_STRING_STARTERS = frozenset("\x90\x98\x9d\x9e\x9f")  # DCS, SOS, OSC, PM, APC
_C1_ST = "\x9c"
_ESC_STRING_STARTERS = frozenset(["P", "X", "]", "^", "_"])  # DCS, SOS, OSC, PM, APC after ESC


class TerminalText:
    """Output fed in chunks of any size → finished lines and the line being written.

    `lines` holds finished lines (with canonical SGR sequences when `colour` is on), at most
    `max_lines` of them; `dropped` counts older ones let go.
    """

    def __init__(self, *, colour: bool = True, max_lines: int | None = None) -> None:
        self.colour = colour
        self.lines: deque[str] = deque(maxlen=max_lines)
        self.dropped = 0
        self._chars: list[str] = []
        self._styles: list[str] = []
        self._col = 0
        self._style = ""
        """The current SGR parameters, as a canonical `1;31`-style string ("" = default)."""
        self._state = _GROUND
        self._params: list[str] = []
        self._params_len = 0
        self._overlong = False
        self._string_is_c1 = False

    # -- input -------------------------------------------------------------------------

    def feed(self, chunk: str) -> None:
        i, n = 0, len(chunk)
        while i < n:
            if self._state == _GROUND:
                match = _SPECIAL.search(chunk, i)
                end = n if match is None else match.start()
                if end > i:
                    self._put(chunk[i:end])
                if match is None:
                    return
                self._control(chunk[end])
                i = end + 1
            else:
                i = self._in_sequence(chunk, i)

    def finish(self) -> None:
        """The output ended: an unfinished sequence is dropped, the last line kept as is."""
        self._state = _GROUND

    # -- output ------------------------------------------------------------------------

    @property
    def current(self) -> str:
        """The line being written (no newline yet)."""
        return self._render(self._chars, self._styles)

    def all_lines(self) -> list[str]:
        """The kept finished lines, and the current one when it has anything."""
        lines = list(self.lines)
        if self._chars:
            lines.append(self.current)
        return lines

    def text(self) -> str:
        return "\n".join(self.all_lines())

    # -- the state machine -------------------------------------------------------------

    def _control(self, ch: str) -> None:
        if ch == "\n":
            self._newline()
        elif ch == "\r":
            self._col = 0
        elif ch == "\b":
            self._col = max(0, self._col - 1)
        elif ch == "\t":
            self._put(" " * (_TAB - self._col % _TAB))
        elif ch == ESC:
            self._state = _ESCAPE
        elif ch == _C1_CSI:
            self._start_csi()
        elif ch in _C1_STRING_STARTERS:
            self._state, self._string_is_c1 = _STRING, True
        # Any other C0/C1 control (BEL, SO/SI, NEL, …) and DEL: dropped.

    def _start_csi(self) -> None:
        self._state = _CSI
        self._params = []
        self._params_len = 0
        self._overlong = False

    def _in_sequence(self, chunk: str, i: int) -> int:
        state = self._state
        ch = chunk[i]
        if state == _ESCAPE:
            if ch == "[":
                self._start_csi()
            elif ch in _ESC_STRING_STARTERS:
                self._state, self._string_is_c1 = _STRING, False
            elif "\x20" <= ch <= "\x2f" or ch == ESC:
                pass  # intermediates (ESC ( B …) or a repeated ESC: the sequence goes on
            elif ch in ("\x18", "\x1a"):
                self._state = _GROUND  # CAN/SUB cancel a sequence
            elif ch < "\x20":
                self._control_inside(ch)
            else:
                self._state = _GROUND  # the final byte: the whole ESC sequence is dropped
            return i + 1
        if state == _CSI:
            # Parameters and intermediates run until a final byte in 0x40-0x7E.
            j = i
            n = len(chunk)
            while j < n and "\x20" <= chunk[j] <= "\x3f":
                j += 1
            if j > i and not self._overlong:
                self._params_len += j - i
                if self._params_len > _MAX_PARAMS:
                    self._overlong, self._params = True, []
                else:
                    self._params.append(chunk[i:j])
            if j == n:
                return j
            ch = chunk[j]
            if "\x40" <= ch <= "\x7e":
                self._state = _GROUND
                if ch == "m" and not self._overlong:
                    self._sgr("".join(self._params))
                elif ch == "K" and not self._overlong:
                    self._erase_in_line("".join(self._params))
            elif ch in ("\x18", "\x1a"):
                self._state = _GROUND
            elif ch == ESC:
                self._state = _ESCAPE
            elif ch < "\x20":
                self._control_inside(ch)
            else:
                # DEL or a C1 control inside a CSI: a C1 starts something new, DEL is ignored.
                if ch != "\x7f":
                    self._state = _GROUND
                    self._control(ch)
            return j + 1
        # Inside an OSC/DCS/APC/PM/SOS string: skip to its terminator (ST, or BEL for OSC).
        n = len(chunk)
        j = i
        while j < n:
            c = chunk[j]
            if state == _STRING_ESC:
                if c == "\\":
                    self._state = _GROUND
                    return j + 1
                # ESC followed by anything else ends the string and starts a new sequence.
                self._state = _ESCAPE
                return j
            if c in ("\x07", _C1_ST, "\x18", "\x1a"):
                self._state = _GROUND
                return j + 1
            if c == ESC:
                state = self._state = _STRING_ESC
            j += 1
        return n

    def _control_inside(self, ch: str) -> None:
        """A C0 control inside an ESC or CSI sequence is executed (as terminals do), not kept."""
        if ch in "\n\r\b\t":
            self._control(ch)

    # -- the line ----------------------------------------------------------------------

    def _put(self, text: str) -> None:
        while len(self._chars) + len(text) > MAX_LINE and self._col == len(self._chars):
            room = MAX_LINE - len(self._chars)
            self._put_here(text[:room])
            self._newline()
            text = text[room:]
        self._put_here(text)
        if len(self._chars) >= MAX_LINE:
            self._newline()

    def _put_here(self, text: str) -> None:
        col, chars, styles = self._col, self._chars, self._styles
        if col == len(chars):
            chars.extend(text)
            styles.extend([self._style] * len(text))
        else:
            end = col + len(text)
            chars[col:end] = text
            styles[col:end] = [self._style] * len(text)
        self._col = col + len(text)

    def _newline(self) -> None:
        if self.lines.maxlen is not None and len(self.lines) == self.lines.maxlen:
            self.dropped += 1
        self.lines.append(self.current)
        self._chars, self._styles, self._col = [], [], 0

    def _erase_in_line(self, params: str) -> None:
        mode = params or "0"
        if mode == "0":
            del self._chars[self._col :], self._styles[self._col :]
        elif mode == "1":
            self._chars[: self._col] = " " * min(self._col, len(self._chars))
        elif mode == "2":
            self._chars, self._styles = [], []
            # The cursor stays where it was: the next text lands after blanks, as on a terminal.
            self._chars.extend(" " * self._col)
            self._styles.extend([""] * self._col)

    def _sgr(self, params: str) -> None:
        if not _SGR_PARAMS.fullmatch(params):
            return  # private or malformed (`CSI ? 5 m`, `CSI > 4 ; 2 m`): not a colour
        # Each SGR either resets or adds to the current attributes; resetting parts of them
        # (22, 39, …) is left to the terminal, which reads the accumulated list in order.
        parts = params.split(";")
        if params == "" or parts[0] in ("0", ""):
            rest = [p for p in parts[1:] if p not in ("0", "")]
            self._style = ";".join(rest)
        else:
            added = ";".join(p for p in parts if p)
            style = f"{self._style};{added}" if self._style else added
            # A program that sets colours forever without a reset must not grow the style
            # without bound: keep the newest attributes.
            self._style = _trim_style(style)

    def _render(self, chars: list[str], styles: list[str]) -> str:
        if not self.colour or not any(styles):
            return "".join(chars)
        out: list[str] = []
        current = ""
        run_start = 0
        for k in range(len(chars) + 1):
            style = styles[k] if k < len(chars) else ""
            if k == len(chars) or style != current:
                if k > run_start:
                    text = "".join(chars[run_start:k])
                    out.append(f"\x1b[0;{current}m{text}" if current else (_SGR_RESET + text if out else text))
                current, run_start = style, k
        if any(styles):
            out.append(_SGR_RESET)
        return "".join(out)


def _trim_style(style: str) -> str:
    if len(style) <= _MAX_PARAMS:
        return style
    cut = style[-_MAX_PARAMS:]
    return cut[cut.index(";") + 1 :] if ";" in cut else ""


def sanitize(text: str, *, colour: bool = False) -> str:
    """`text` with every terminal control resolved or removed (SGR kept when `colour`)."""
    term = TerminalText(colour=colour)
    term.feed(text)
    term.finish()
    out = term.text()
    return out + "\n" if text.endswith("\n") and not term.current else out


def strip_sgr(text: str) -> str:
    """A sanitised text without its colours."""
    return _ANSI_SGR.sub("", text)
