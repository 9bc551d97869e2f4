"""Checks shared by the file readers: readable, not HTML, not truncated, the right columns.

Used for price files and for usage files (CUR, FOCUS, the canonical table): :class:`FileKind` says
which, so that each gets its own remedy. Every failure is a :class:`pricing.errors.PriceFileError`
naming the file, the row or column, and the fix.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from pricing.errors import PriceFileError

ProgressCallback = Callable[[int, int | None], None]
"""Called as ``progress(done, total)`` while a long read or fetch runs; ``total`` may be unknown."""

_HTML_MARKERS = (b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")
_TAIL_BYTES = 65_536
_CHUNK_BYTES = 16 * 1024 * 1024
TRUNCATED_FIX: Final = "download the file again (an interrupted download or copy cuts a file short)"
"""The remedy for a file that ends in the middle of a row or before its Parquet footer."""


@dataclass(frozen=True, slots=True)
class FileKind:
    """What a sniffed file should be, for the remedies of :func:`sniff`.

    Attributes
    ----------
    noun
        ``"price file"``, ``"usage file"``.
    refetch
        What to do about an empty file.
    html_fix
        What to do about an HTML / XML page saved in the file's place.
    """

    noun: str
    refetch: str
    html_fix: str


PRICE_FILE: Final = FileKind(
    "price file",
    "download the price file again",
    "download the price file again from the AWS Price List",
)
"""A price file (AWS Price List, Savings Plans offer, ec2instances.info)."""

USAGE_FILE: Final = FileKind(
    "usage file",
    "export the usage again from the billing console (Data Exports or Cost and Usage Reports), "
    "or check the path",
    "download the export again from its S3 bucket or the billing console (Data Exports)",
)
"""A usage file: a CUR, CUR 2.0 or FOCUS export, or the canonical usage table."""


@dataclass(frozen=True, slots=True)
class SniffedFile:
    """What the first and the last bytes of a file say about it.

    Attributes
    ----------
    path
        The file.
    compressed
        ``"gzip"`` or ``None``.
    head
        The first (decompressed) bytes, at most 64 KiB.
    tail
        The last (decompressed) bytes, at most 64 KiB (the whole file when it is that small).
    size
        The (decompressed) size [bytes].
    """

    path: Path
    compressed: str | None
    head: bytes
    tail: bytes = b""
    size: int = 0

    @property
    def head_text(self) -> str:
        """The head decoded as UTF-8 (invalid bytes replaced), without a byte-order mark."""
        return self.head.decode("utf-8", errors="replace").lstrip("\ufeff")


def sniff(path: str | Path, head_bytes: int = 65_536, kind: FileKind = PRICE_FILE) -> SniffedFile:
    """Open a file, check it is not empty, HTML or a broken gzip, and return its head and tail.

    A gzip file is checked to its end for truncation (streaming, constant memory), so that a
    partial download fails here with a clear message rather than half-way through an import.

    Parameters
    ----------
    path
        The file.
    head_bytes
        How many (decompressed) bytes to keep of its start.
    kind
        What the file should be (:data:`PRICE_FILE`, :data:`USAGE_FILE`), for the remedies.

    Raises
    ------
    PriceFileError
        File missing, empty, an HTML or XML page (an error page saved by a browser or proxy), or a
        truncated / corrupt gzip.
    """
    file = Path(path)
    if not file.is_file():
        raise PriceFileError(file, "no such file", "check the path")
    with file.open("rb") as raw:
        magic = raw.read(2)
    compressed = "gzip" if magic == b"\x1f\x8b" else None
    if compressed:
        try:
            with gzip.open(file, "rb") as stream:
                head = stream.read(head_bytes)
                tail, size = head[-_TAIL_BYTES:], len(head)
                while chunk := stream.read(_CHUNK_BYTES):
                    size += len(chunk)
                    tail = (tail + chunk[-_TAIL_BYTES:])[-_TAIL_BYTES:]
        except (EOFError, OSError, zlib.error) as error:
            raise PriceFileError(
                file,
                f"the gzip data is truncated or corrupt ({error})",
                "download the file again",
            ) from error
    else:
        size = file.stat().st_size
        with file.open("rb") as stream:
            head = stream.read(head_bytes)
            stream.seek(max(0, size - _TAIL_BYTES))
            tail = stream.read(_TAIL_BYTES)
    if not head.strip():
        raise PriceFileError(file, "the file is empty", kind.refetch)
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith(_HTML_MARKERS):
        raise PriceFileError(
            file,
            f"this is an HTML/XML page, not a {kind.noun} (an error or login page saved instead?)",
            kind.html_fix,
        )
    return SniffedFile(file, compressed, head, tail, size)


def check_complete(sniffed: SniffedFile) -> None:
    """Raise when a file was cut short: a Parquet file without its footer, a CSV mid-row.

    A CSV file is cut short when it does not end with a line break and its last row has fewer
    values than its header (the first line) has columns, or ends inside a quoted value. A CSV that
    ends with a line break, or whose last row is whole, passes (a cut exactly at a row's end
    cannot be told from a whole file).

    Raises
    ------
    PriceFileError
        Naming the last row (its line number), the column where it stops, and the fix.
    """
    if sniffed.head.startswith(b"PAR1"):
        if not sniffed.tail.endswith(b"PAR1"):
            raise PriceFileError(
                sniffed.path,
                f"looks truncated or corrupt: the Parquet file ({sniffed.size:,} bytes) does not "
                "end with its footer",
                TRUNCATED_FIX,
            )
        return
    if sniffed.tail.endswith((b"\n", b"\r")):
        return
    header = next(csv.reader(io.StringIO(sniffed.head_text)), [])
    if len(header) < 2:
        return
    text = sniffed.tail.decode("utf-8", errors="replace")
    if sniffed.size > len(sniffed.tail):
        if "\n" not in text:
            return
        text = text[text.index("\n") + 1 :]
    fields, quoted = _last_record(text)
    if not quoted and fields >= len(header):
        return
    column = header[min(fields, len(header)) - 1]
    stops = "ends inside an unterminated quote" if quoted else "stops"
    raise PriceFileError(
        sniffed.path,
        f"looks truncated: the last row (line {_count_lines(sniffed):,}) {stops} in column "
        f"{fields} ({shorten(column)}) of the {len(header)} in the header",
        TRUNCATED_FIX,
    )


def ragged_row(path: str | Path) -> str | None:
    """The first row of a CSV file whose number of values differs from its header's, described.

    For a message when a CSV cannot be parsed: ``"row 12 (line 13) has 40 values where the header
    has 94 columns"``, or the line where quoting breaks; ``None`` when every row is regular.
    Reads the whole file (gzip too), so it is meant for the failure path only.
    """
    file = Path(path)
    with file.open("rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if compressed else open
    with opener(file, "rt", encoding="utf-8", errors="replace", newline="") as stream:
        reader = csv.reader(stream, strict=True)
        try:
            header = next(reader, [])
            for number, row in enumerate(reader, start=1):
                if row and len(row) != len(header):
                    return (
                        f"row {number:,} (line {reader.line_num:,}) has {len(row)} values where "
                        f"the header has {len(header)} columns"
                    )
        except csv.Error as error:
            return f"line {reader.line_num:,} is not valid CSV ({error})"
    return None


def _last_record(text: str) -> tuple[int, bool]:
    """How many values the last record of comma-separated ``text`` has (RFC 4180 quoting), and
    whether the text ends inside a quoted value."""
    quoted = False
    fields = 1
    for character in text:
        if character == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif character == ",":
            fields += 1
        elif character == "\n":
            fields = 1
    return fields, quoted


def _count_lines(sniffed: SniffedFile) -> int:
    """The number of lines of the (decompressed) file, the last one counted without a break."""
    opener = gzip.open if sniffed.compressed == "gzip" else open
    breaks = 0
    with opener(sniffed.path, "rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            breaks += chunk.count(b"\n")
    return breaks + 1


def shorten(name: str, width: int = 40) -> str:
    """``name`` cut to ``width`` characters (with an ellipsis), for a one-line message."""
    name = " ".join(name.split())
    return name if len(name) <= width else name[: width - 3] + "..."


def show_columns(names: Iterable[str], limit: int = 12, width: int = 120) -> str:
    """At most ``limit`` of ``names``, each shortened, within about ``width`` characters.

    ``"a, b, c, ... (94 in all)"`` when some are left out.
    """
    listed = list(names)
    shown: list[str] = []
    length = 0
    for name in listed[:limit]:
        short = shorten(name)
        if shown and length + len(short) + 2 > width:
            break
        shown.append(short)
        length += len(short) + 2
    text = ", ".join(shown)
    if len(shown) < len(listed):
        text += f", ... ({len(listed)} in all)"
    return text


def require_columns(
    path: str | Path, found: Iterable[str], needed: Iterable[str], what: str
) -> None:
    """Raise naming the missing columns (and the ones found) when ``needed`` is not in ``found``.

    Raises
    ------
    PriceFileError
        ``"missing column(s) X, Y (found: ...)"``.
    """
    found_list = list(found)
    missing = [column for column in needed if column not in found_list]
    if missing:
        raise PriceFileError(
            path,
            f"missing column(s) {', '.join(missing)} for {what} "
            f"(found: {show_columns(found_list)})",
            f"pass an unmodified {what} file",
        )


def offer_publication_date(path: str | Path, text: object, field: str) -> date:
    """The date of an offer file's ISO 8601 publication timestamp (``2025-09-11T18:44:47Z``).

    Raises
    ------
    PriceFileError
        Naming the file and ``field`` when the text is not such a date.
    """
    try:
        return date.fromisoformat(str(text).strip()[:10])
    except ValueError:
        raise PriceFileError(
            path,
            f"{field} {text!r} is not an ISO 8601 date such as 2025-09-12T22:53:08Z",
            "import the offer file unmodified",
        ) from None
