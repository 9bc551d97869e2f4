"""Checks shared by the price-file readers: readable, not HTML, not truncated, the right columns.

Every failure is a :class:`pricing.errors.PriceFileError` naming the file, the row or column, and
the fix.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pricing.errors import PriceFileError

ProgressCallback = Callable[[int, int | None], None]
"""Called as ``progress(done, total)`` while a long read or fetch runs; ``total`` may be unknown."""

_HTML_MARKERS = (b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")


@dataclass(frozen=True, slots=True)
class SniffedFile:
    """What the first bytes of a file say about it.

    Attributes
    ----------
    path
        The file.
    compressed
        ``"gzip"`` or ``None``.
    head
        The first (decompressed) bytes, at most 64 KiB.
    """

    path: Path
    compressed: str | None
    head: bytes

    @property
    def head_text(self) -> str:
        """The head decoded as UTF-8 (invalid bytes replaced), without a byte-order mark."""
        return self.head.decode("utf-8", errors="replace").lstrip("\ufeff")


def sniff(path: str | Path, head_bytes: int = 65_536) -> SniffedFile:
    """Open a price file, check it is not empty, HTML or a broken gzip, and return its head.

    A gzip file is checked to its end for truncation (streaming, constant memory), so that a
    partial download fails here with a clear message rather than half-way through an import.

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
                while stream.read(16 * 1024 * 1024):
                    pass
        except (EOFError, OSError, zlib.error) as error:
            raise PriceFileError(
                file,
                f"the gzip data is truncated or corrupt ({error})",
                "download the file again",
            ) from error
    else:
        with file.open("rb") as stream:
            head = stream.read(head_bytes)
    if not head.strip():
        raise PriceFileError(file, "the file is empty", "download the price file again")
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith(_HTML_MARKERS):
        raise PriceFileError(
            file,
            "this is an HTML/XML page, not a price file (an error or login page saved instead?)",
            "download the price file again from the AWS Price List",
        )
    return SniffedFile(file, compressed, head)


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
        shown = ", ".join(found_list[:12]) + (", ..." if len(found_list) > 12 else "")
        raise PriceFileError(
            path,
            f"missing column(s) {', '.join(missing)} for {what} (found: {shown})",
            f"pass an unmodified {what} file",
        )
