"""Usage CSV files that are not UTF-8 text, and CSV headers that name a column twice.

DuckDB reads CSV as UTF-8; a file in another encoding (Latin-1, Windows-1252) or a binary file
fails with a parser error that names neither the cause nor the fix. :func:`not_text_error` tells
the two apart on the failure path and says how to convert the file, without echoing the bytes.
:func:`duplicated_header_error` finds a column the header names twice (DuckDB renames the second
one ``quantity_1``, and the first would be used silently).
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from usage.errors import UsageInputError

_CHUNK_BYTES: Final = 1 << 20
_BINARY_SHARE: Final = 0.05
"""Share of control or undecodable characters in the first chunk above which a file is binary."""
_DELIMITERS: Final = (",", ";", "\t", "|")
"""The delimiters DuckDB's CSV sniffer tries."""


def convert_fix(path: Path) -> str:
    """How to make ``path`` UTF-8: an ``iconv`` command line for it."""
    converted = path.with_name(f"{path.stem}-utf8{path.suffix}")
    return (
        f"convert it to UTF-8, e.g. `iconv -f latin1 -t utf-8 {path} > {converted}` (-f cp1252 "
        "for a Windows file), or export it again as UTF-8"
    )


def not_text_error(path: Path) -> UsageInputError | None:
    """The error of a CSV file that is binary or not UTF-8, or ``None`` when it is UTF-8 text
    (or Parquet, or gzip: DuckDB's own messages are clear there).

    Reads the file up to its first bad byte (the whole file when it is clean): meant for the
    failure path.
    """
    with path.open("rb") as stream:
        magic = stream.read(4)
        if magic.startswith(b"PAR1") or magic.startswith(b"\x1f\x8b"):
            return None
        stream.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        lines, offset = 1, 0
        while chunk := stream.read(_CHUNK_BYTES):
            if offset == 0 and _looks_binary(chunk):
                return UsageInputError(
                    str(path),
                    "is not a text file (binary data; not CSV, CSV.gz or Parquet)",
                    "pass a CUR, CUR 2.0 or FOCUS export or a canonical usage table, as CSV "
                    "(UTF-8) or Parquet",
                )
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                decoded = bytes(error.object)  # a partial character of the last chunk, then this
                before = decoded[: error.start]
                line = lines + before.count(b"\n")
                position = offset - (len(decoded) - len(chunk)) + error.start
                return UsageInputError(
                    str(path),
                    f"is not UTF-8 text: line {line:,} has the byte 0x{decoded[error.start]:02X} "
                    f"(byte {position:,} of the file), as Latin-1 or Windows-1252 files do",
                    convert_fix(path),
                )
            lines += chunk.count(b"\n")
            offset += len(chunk)
    return None


def _looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file are binary: NUL bytes, or many control characters or
    bytes that are not UTF-8 (a Latin-1 file has a few accented letters, not many)."""
    if b"\x00" in head:
        return True
    text = head.decode("utf-8", errors="replace")
    odd = sum(1 for c in text if c == "\ufffd" or (c < " " and c not in "\t\r\n"))
    return odd > _BINARY_SHARE * max(len(text), 1)


def duplicated_header_error(path: Path, columns: Sequence[str]) -> UsageInputError | None:
    """The error of a CSV header that names a column twice, or ``None``.

    ``columns`` are the names DuckDB read (``quantity``, ``quantity_1`` for a repeated
    ``quantity``); only when such a pair is there is the header line itself read and checked.
    """
    names = set(columns)
    suspects = [c for c in columns if f"{c}_1" in names]
    if not suspects:
        return None
    with path.open("rb") as stream:
        magic = stream.read(4)
        if magic.startswith(b"PAR1") or magic.startswith(b"\x1f\x8b"):
            return None
        stream.seek(0)
        line = stream.readline(_CHUNK_BYTES).decode("utf-8", errors="replace").lstrip("\ufeff")
    for delimiter in _DELIMITERS:
        header = next(csv.reader([line], delimiter=delimiter), [])
        counts = Counter(name.strip() for name in header)
        repeated = [c for c in suspects if counts[c] > 1]
        if repeated:
            column = repeated[0]
            places = [str(i + 1) for i, name in enumerate(header) if name.strip() == column]
            return UsageInputError(
                str(path),
                f"the header names column {column} {len(places)} times (columns "
                f"{', '.join(places)})",
                "keep one of them: drop or rename the others",
            )
    return None


__all__ = ["convert_fix", "duplicated_header_error", "not_text_error"]
