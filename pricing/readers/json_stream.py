"""Incremental reader of one large JSON document, for price files too big for ``json.load``.

The AWS Price List offer files are single JSON objects of hundreds of megabytes to several
gigabytes. :class:`JsonStream` walks such a document front to back, reading the text in chunks:
the caller iterates over the members of an object (:meth:`JsonStream.members`) or the elements of
an array (:meth:`JsonStream.elements`) and, for each, decodes the value whole
(:meth:`JsonStream.value`, with the C decoder of :mod:`json`), walks into it the same way, or
passes over it (:meth:`JsonStream.skip`). Memory holds the unread rest of one chunk and the value
being decoded, never the document.

Example, for ``{"version": "1", "products": {"SKU1": {...}, "SKU2": {...}}}``::

    with open_json(sniff(path), fix="download the file again") as stream:
        for key in stream.members():
            if key == "products":
                for sku in stream.members():
                    product = stream.value()  # one product decoded at a time
            else:
                header[key] = stream.value()
        stream.expect_end()

Errors are :class:`~pricing.errors.PriceFileError` naming the file and the character offset
(0-based, counted from the start of the text without its byte-order mark; for gzip, of the
decompressed text) where the document breaks off or goes wrong, with the reader's remedy.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, ClassVar, Final, TypeVar

from pricing.errors import PriceFileError
from pricing.readers.common import SniffedFile

CHUNK_CHARS: Final = 1 << 20
"""Characters read at a time [characters]; more while one value is longer than the buffer."""

SYNTAX_MESSAGE: Final = "malformed or truncated JSON ({detail}) (at character {offset:,})"
"""How a syntax error reads by default: a :meth:`str.format` template with ``detail`` (what is
wrong, e.g. ``Expecting ',' delimiter``) and ``offset`` (the character offset)."""

_Label = TypeVar("_Label", str, int)
_SPACES: Final = " \t\r\n"  # JSON's four whitespace characters only
_NON_SPACE: Final = re.compile(f"[^{_SPACES}]")
_DECODER: Final = json.JSONDecoder()
_TAIL: Final = 16
"""A decoding error this close to the end of the buffer [characters] may only mean that the text
goes on in the next chunk (``-Infinit``, ``\\u12``, ``1e+``): it is retried with more text."""
_NUMBER_TAIL: Final = 2
"""A number decoded this close to the end of the buffer [characters] may go on in the next chunk
(``12|3``, ``1.|5``, ``1e+|5``), so it is decoded again with more text."""


class JsonStream:
    """Walks one JSON document in a text stream, reading it chunk by chunk.

    The cursor starts before the document and only moves forward. Each method reads the next
    value (or part of it) after any whitespace.

    Parameters
    ----------
    text
        The text, opened for reading (see :func:`open_json` for plain and gzip files).
    path
        The file, named in errors.
    fix
        What the user can do about a broken file; ends every error message.
    chunk_chars
        Characters read at a time [characters]; the class default ``_CHUNK`` when ``None``.
    syntax_message
        How a syntax error reads (see :data:`SYNTAX_MESSAGE`).

    Attributes
    ----------
    path
        The file.
    fix
        The remedy named in errors.
    """

    _CHUNK: ClassVar[int] = CHUNK_CHARS
    """Default read size [characters] (tests shrink it so that every value spans chunks)."""

    def __init__(
        self,
        text: IO[str],
        path: str | Path,
        *,
        fix: str,
        chunk_chars: int | None = None,
        syntax_message: str = SYNTAX_MESSAGE,
    ) -> None:
        self.path = Path(path)
        self.fix = fix
        self._text = text
        self._chunk = max(1, chunk_chars or self._CHUNK)
        self._syntax_message = syntax_message
        self._buffer = ""
        self._position = 0  # in the buffer
        self._consumed = 0  # characters dropped from the front of the buffer
        self._eof = False
        self._reads = 0  # values read so far (to skip the ones left unread)

    @property
    def offset(self) -> int:
        """Character offset of the cursor in the document [characters]."""
        return self._consumed + self._position

    # ------------------------------------------------------------------------------ errors

    def error(self, problem: str, offset: int | None = None) -> PriceFileError:
        """An error about the document at ``offset`` (default: the cursor), e.g. a wrong value.

        Reads ``"<path>: <problem> (at character 1,234); <fix>"``.
        """
        at = self.offset if offset is None else offset
        return PriceFileError(self.path, f"{problem} (at character {at:,})", self.fix)

    def syntax_error(self, detail: str, offset: int | None = None) -> PriceFileError:
        """An error for text that is not JSON (or ends early), worded by ``syntax_message``."""
        at = self.offset if offset is None else offset
        problem = self._syntax_message.format(detail=detail, offset=at)
        return PriceFileError(self.path, problem, self.fix)

    # ------------------------------------------------------------------------------ reading

    def _fill(self) -> bool:
        """Drop the consumed text and read more (at least as much as is left); False at the end."""
        if self._eof:
            return False
        try:
            more = self._text.read(max(self._chunk, len(self._buffer) - self._position))
        except UnicodeDecodeError as error:
            raise PriceFileError(
                self.path,
                f"the text after character {self._consumed + len(self._buffer):,} is not UTF-8 "
                f"({error.reason})",
                self.fix,
            ) from error
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise PriceFileError(
                self.path, f"the gzip data is truncated or corrupt ({error})", self.fix
            ) from error
        if not more:
            self._eof = True
            return False  # the buffer is left as it was
        self._consumed += self._position
        self._buffer = self._buffer[self._position :] + more
        self._position = 0
        return True

    def _ran_out(self, error: json.JSONDecodeError) -> bool:
        """Whether a decoding error may only mean that the buffer ends before the value does."""
        return error.msg.startswith("Unterminated string") or (
            error.pos >= len(self._buffer) - _TAIL
        )

    def peek(self) -> str:
        """The next character after whitespace, without consuming it (``""`` at the end)."""
        if self._position < len(self._buffer):
            char = self._buffer[self._position]
            if char not in _SPACES:
                return char
        while True:
            found = _NON_SPACE.search(self._buffer, self._position)
            if found is not None:
                self._position = found.start()
                return self._buffer[self._position]
            self._position = len(self._buffer)
            if not self._fill():
                return ""

    def expect(self, char: str) -> None:
        """Consume ``char`` (after whitespace).

        Raises
        ------
        PriceFileError
            Another character, or the end of the document.
        """
        found = self.peek()
        if found != char:
            raise self.syntax_error(f"expected {char!r} but found {_shown(found)}")
        self._position += 1

    def expect_end(self) -> None:
        """Check that only whitespace is left.

        Raises
        ------
        PriceFileError
            Anything after the document.
        """
        found = self.peek()
        if found:
            raise self.syntax_error(f"unexpected {found!r} after the end of the document")

    def value(self) -> Any:
        """Decode the next complete value (object, array, string, number, literal).

        Raises
        ------
        PriceFileError
            Malformed or truncated text, at the character where decoding failed.
        """
        self.peek()
        while True:
            try:
                decoded, end = _DECODER.raw_decode(self._buffer, self._position)
            except json.JSONDecodeError as error:
                offset = self._consumed + error.pos  # before _fill moves the buffer
                if self._ran_out(error) and self._fill():
                    continue
                raise self.syntax_error(error.msg, offset) from error
            if (
                len(self._buffer) - end <= _NUMBER_TAIL
                and type(decoded) in (int, float)
                and self._fill()
            ):
                continue  # a number may go on in the next chunk
            self._position = end
            self._reads += 1
            return decoded

    def skip(self) -> None:
        """Pass over the next value, checking its syntax, without keeping it in memory.

        A value held whole in the buffer is decoded and dropped; a longer object or array is
        walked member by member, so skipping a section of gigabytes takes one chunk of memory.

        Raises
        ------
        PriceFileError
            Malformed or truncated text.
        """
        opening = self.peek()
        if opening not in ("{", "["):
            self.value()
            return
        try:
            _, end = _DECODER.raw_decode(self._buffer, self._position)
        except json.JSONDecodeError as error:
            if not self._ran_out(error):
                raise self.syntax_error(error.msg, self._consumed + error.pos) from error
        else:
            self._position = end
            self._reads += 1
            return
        for _ in self.members() if opening == "{" else self.elements():
            pass  # each value left unread is skipped

    def members(self) -> Iterator[str]:
        """Yield the keys of the object that starts here, in document order.

        After each key, read its value (:meth:`value`, :meth:`members`, :meth:`elements` or
        :meth:`skip`) before asking for the next key; a value left unread is skipped.

        Raises
        ------
        PriceFileError
            No object here, a key that is not a string, a missing ``:`` or ``,``, or a value
            left half read.
        """
        return self._children("{", "}", self._key)

    def elements(self) -> Iterator[int]:
        """Yield the 0-based index of each element of the array that starts here.

        After each index, read the element (:meth:`value`, :meth:`members`, :meth:`elements`
        or :meth:`skip`) before asking for the next one; an element left unread is skipped.

        Raises
        ------
        PriceFileError
            No array here, a missing ``,``, or an element left half read.
        """
        return self._children("[", "]", _index)

    def _children(
        self, opening: str, closing: str, label: Callable[[int], _Label]
    ) -> Iterator[_Label]:
        """Walk an object or array: yield each member's or element's label, skip it if unread."""
        self.expect(opening)
        self._reads += 1
        if self.peek() == closing:
            self._position += 1
            return
        index = 0
        while True:
            name = label(index)
            reads = self._reads
            yield name
            if self._reads == reads:
                self.skip()
            found = self.peek()
            self._position += 1
            if found == closing:
                return
            if found != ",":
                self._position -= 1
                raise self.syntax_error(f"expected ',' or {closing!r} but found {_shown(found)}")
            index += 1

    def _key(self, _index: int) -> str:
        """Read a member's key and its ``:``."""
        found = self.peek()
        if found != '"':
            raise self.syntax_error(f"expected an object key but found {_shown(found)}")
        key: str = self.value()
        if self._buffer.startswith(":", self._position):  # the usual case, without a call
            self._position += 1
        else:
            self.expect(":")
        return key


def _index(index: int) -> int:
    return index


def _shown(found: str) -> str:
    return repr(found) if found else "the end of the file"


@contextmanager
def open_json(
    file: SniffedFile,
    *,
    fix: str,
    chunk_chars: int | None = None,
    syntax_message: str = SYNTAX_MESSAGE,
) -> Iterator[JsonStream]:
    """Open a sniffed JSON file, plain or gzip, as a :class:`JsonStream`.

    The text is read as UTF-8 (a byte-order mark is dropped) without newline translation, so
    offsets in errors count the file's own characters.

    Parameters
    ----------
    file
        The file as :func:`pricing.readers.common.sniff` checked it.
    fix, chunk_chars, syntax_message
        As for :class:`JsonStream`.

    Yields
    ------
    JsonStream
        Positioned before the document; the file is closed when the block ends.
    """
    opener: Callable[..., IO[str]] = gzip.open if file.compressed == "gzip" else open
    with opener(file.path, "rt", encoding="utf-8-sig", newline="") as text:
        yield JsonStream(
            text, file.path, fix=fix, chunk_chars=chunk_chars, syntax_message=syntax_message
        )
