"""File names of any bytes: carried losslessly, recorded as valid text, printed safely, kept
under the file system's length limit.

POSIX file names are bytes. Python gives a name that is not valid UTF-8 to maskforge as a ``str``
holding *surrogate escapes* (``caf\\udce9.jpg`` for the Latin-1 bytes ``caf\\xe9.jpg``); such a
string opens the right file but cannot be encoded as UTF-8, so it cannot go into Parquet, JSON,
CSV or a terminal as is.

- :func:`to_text` is the form every output records (``source_path``, ``identity``): valid
  Unicode stays as it is; each undecodable byte becomes ``\\xNN`` (``caf\\xe9.jpg``).
- :func:`from_text` gives the original name back (``\\xNN`` with NN >= 80 becomes that byte again;
  a name holding a literal backslash-x and two hex digits >= 80 is the one ambiguity).
- :func:`printable` is what goes to a terminal: control characters (an escape sequence in an
  identity folder's name) become ``\\xNN`` / ``\\uNNNN``, so output can never drive the terminal.
- :func:`short_name` shortens a name that would exceed the file system's 255-byte limit,
  deterministically, keeping a hash of the whole name and the extension.
"""

from __future__ import annotations

import hashlib
import os
import re

#: Most file systems (ext4, xfs, btrfs, APFS, NTFS) allow names of at most this many bytes.
NAME_MAX = 255
_ESCAPED = re.compile(r"\\x([89a-fA-F][0-9a-fA-F])")


def to_text(name: str) -> str:
    """``name`` as valid Unicode: surrogate escapes (undecodable bytes) become ``\\xNN``."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def from_text(text: str) -> str:
    """The name :func:`to_text` recorded as ``text`` (``\\xNN`` back to the byte it stood for)."""
    if "\\x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), text)


def to_bytes(name: str) -> bytes:
    """The bytes of a file name as the OS sees them (surrogate escapes included)."""
    return name.encode("utf-8", "surrogateescape")


def printable(text: object) -> str:
    """``text`` safe for a terminal: every character Python does not call printable (controls,
    format characters, separators other than the space, surrogate escapes) as ``\\xNN`` /
    ``\\uNNNN`` / ``\\UNNNNNNNN``; everything else unchanged."""
    s = str(text)
    if s.isprintable():
        return s
    out = []
    for ch in s:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def short_name(name: str, limit: int = NAME_MAX) -> str:
    """``name`` itself when it fits in ``limit`` bytes, else its stem cut (on a character
    boundary) and followed by ``-<8 hex of a hash of the whole name>`` and its extension."""
    raw = to_bytes(name)
    if len(raw) <= limit:
        return name
    stem, ext = os.path.splitext(name)
    if len(to_bytes(ext)) > 16:  # not a real extension: keep none
        stem, ext = name, ""
    tag = "-" + hashlib.blake2b(raw, digest_size=4).hexdigest()
    room = limit - len(to_bytes(tag)) - len(to_bytes(ext))
    cut = to_bytes(stem)[:room].decode("utf-8", "ignore")
    return f"{cut}{tag}{ext}"
