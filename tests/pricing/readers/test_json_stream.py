"""Tests of the incremental JSON reader: values across chunk borders, skipping, error positions."""

from __future__ import annotations

import codecs
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.errors import PriceFileError
from pricing.readers.common import sniff
from pricing.readers.json_stream import JsonStream, open_json

FIX = "download it again"
CHUNKS = [1, 2, 3, 5, 7, 11, 64, None]  # None: the default (1 MiB)


def stream_of(text: str, chunk: int | None = None) -> JsonStream:
    return JsonStream(io.StringIO(text), "doc.json", fix=FIX, chunk_chars=chunk)


def rebuild(stream: JsonStream) -> Any:
    """The next value, walked key by key and element by element down to the scalars."""
    opening = stream.peek()
    if opening == "{":
        return {key: rebuild(stream) for key in stream.members()}
    if opening == "[":
        return [rebuild(stream) for _ in stream.elements()]
    return stream.value()


def read_all(text: str, chunk: int | None) -> Any:
    stream = stream_of(text, chunk)
    value = rebuild(stream)
    stream.expect_end()
    return value


def raised(text: str, chunk: int | None = None, *, walk: bool = True) -> PriceFileError:
    """The error of reading ``text`` walked (or decoded whole), checking the common wording."""
    stream = stream_of(text, chunk)
    with pytest.raises(PriceFileError) as info:
        if walk:
            rebuild(stream)
        else:
            stream.value()
        stream.expect_end()
    message = str(info.value)
    assert message.startswith("doc.json: ")
    assert message.endswith(f"; {FIX}")
    assert "\n" not in message
    return info.value


NESTED = {
    "formatVersion": "v1.0",
    "products": {
        "SKU1": {"sku": "SKU1", "attributes": {"a": "x", "b": [1, 2, {"c": None}]}},
        "SKU2": {"sku": "SKU2", "attributes": {}},
    },
    "terms": {"empty": [], "nested": [[[]], [{}], [[1, [2, [3]]]]], "flags": [True, False, None]},
    "": "empty key",
}


@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("indent", [None, 4])
def test_nested_objects_and_arrays_across_chunks(chunk: int | None, indent: int | None) -> None:
    text = json.dumps(NESTED, indent=indent)
    assert read_all(text, chunk) == NESTED
    stream = stream_of(text, chunk)
    assert stream.value() == NESTED
    assert stream.offset == len(text)


def test_members_and_elements_yield_keys_and_indexes_in_order() -> None:
    stream = stream_of('{"b": [10, 20, 30], "a": {}, "c": []}', 2)
    seen: list[Any] = []
    for key in stream.members():
        seen.append(key)
        if key == "b":
            seen.extend((index, stream.value()) for index in stream.elements())
        else:
            assert list(stream.members() if key == "a" else stream.elements()) == []
    assert seen == ["b", (0, 10), (1, 20), (2, 30), "a", "c"]


STRINGS = [
    'quote " backslash \\ slash / tab \t newline \n',
    "é ß € ✓ \u2028 \u00a0",
    "astral 😀 𝄞 (surrogate pairs when escaped)",
    "\\u00e9 is not an escape here",
    "",
]


@pytest.mark.parametrize("ascii_only", [True, False])
def test_strings_with_escapes_and_unicode_across_chunks(ascii_only: bool) -> None:
    doc = {text: [text, {"k": text}] for text in STRINGS}
    text = json.dumps(doc, ensure_ascii=ascii_only)
    if ascii_only:
        assert "\\ud83d\\ude00" in text  # 😀 as an escaped surrogate pair
    for chunk in range(1, 40):
        assert read_all(text, chunk) == doc, chunk


@pytest.mark.parametrize(
    "number",
    ["1234567", "-0.5", "1.5e+10", "-2.25E-7", "0", "123456789012345678901234567890", "1e5"],
)
def test_numbers_split_across_chunks(number: str) -> None:
    expected = json.loads(number)
    for chunk in range(1, len(number) + 3):
        assert stream_of(number, chunk).value() == expected, chunk  # a bare top-level number
        member = f'{{"n": {number}, "m": [{number}]}}'
        assert read_all(member, chunk) == {"n": expected, "m": [expected]}, chunk
        stream = stream_of(f'{{"n": {number}}}', chunk)
        assert [(key, stream.value()) for key in stream.members()] == [("n", expected)]


def test_skip_passes_over_values_of_every_kind() -> None:
    values = [NESTED, [1, [2, [3]]], "text with } and ]", 1.5e10, True, None, {}, []]
    for chunk in CHUNKS:
        stream = stream_of(json.dumps([*values, "last"]), chunk)
        for index in stream.elements():
            if index < len(values):
                stream.skip()
            else:
                assert stream.value() == "last"
        stream.expect_end()


def test_values_left_unread_are_skipped() -> None:
    text = json.dumps({"skip": NESTED, "keep": [1, {"skip": [2]}, 3], "also": {"x": 1}})
    for chunk in CHUNKS:
        stream = stream_of(text, chunk)
        kept = []
        for key in stream.members():
            if key == "keep":
                for index in stream.elements():
                    if index != 1:
                        kept.append(stream.value())
        stream.expect_end()
        assert kept == [1, 3]


class _ReadSizes(io.StringIO):
    """Records how many characters each ``read`` asked for."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.sizes: list[int] = []

    def read(self, size: int | None = -1, /) -> str:
        self.sizes.append(-1 if size is None else size)
        return super().read(size)


def test_skip_reads_a_long_value_one_chunk_at_a_time() -> None:
    text = json.dumps({"big": [{"sku": f"SKU{i}", "price": i / 7} for i in range(20_000)], "x": 1})
    assert len(text) > 800_000
    skipping = _ReadSizes(text)
    stream = JsonStream(skipping, "doc.json", fix=FIX, chunk_chars=1_000)
    for key in stream.members():
        if key == "big":
            stream.skip()
        else:
            assert stream.value() == 1
    stream.expect_end()
    assert max(skipping.sizes) <= 1_000  # never more than a chunk buffered
    decoding = _ReadSizes(text)
    stream = JsonStream(decoding, "doc.json", fix=FIX, chunk_chars=1_000)
    assert [len(stream.value()) for key in stream.members() if key == "big"] == [20_000]
    assert max(decoding.sizes) > 100_000  # decoding whole grows the buffer to the value


WALKED, WHOLE = True, False  # read with members/elements down to the scalars, or value()


TRUNCATED = [
    ('{"a": [1, 2', WALKED, "expected ',' or ']' but found the end of the file", 11),
    ('{"a": [1, 2', WHOLE, "Expecting ',' delimiter", 11),
    ('{"a": "abc', WALKED, "Unterminated string starting at", 6),
    ('{"a": "abc', WHOLE, "Unterminated string starting at", 6),
    ('{"a": "\\u00', WHOLE, "Invalid \\uXXXX escape", 8),
    ('{"a": 1, ', WALKED, "expected an object key but found the end of the file", 9),
    ('{"a": 1', WALKED, "expected ',' or '}' but found the end of the file", 7),
    ('{"a"', WALKED, "expected ':' but found the end of the file", 4),
    ('{"a": [{"b": tru', WALKED, "Expecting value", 13),
    ('{"a": [{"b": tru', WHOLE, "Expecting value", 13),
    ('{"a": 1.5e', WALKED, "expected ',' or '}' but found 'e'", 9),
    ('{"a": 1.5e', WHOLE, "Expecting ',' delimiter", 9),
    ("", WALKED, "Expecting value", 0),
    ("  \n ", WHOLE, "Expecting value", 4),
]
MALFORMED = [
    ('{"a": 1 "b": 2}', WALKED, "expected ',' or '}' but found '\"'", 8),
    ('{"a": 1 "b": 2}', WHOLE, "Expecting ',' delimiter", 8),
    ('{"a": 1,}', WALKED, "expected an object key but found '}'", 8),
    ("{1: 2}", WALKED, "expected an object key but found '1'", 1),
    ('{"a" 1}', WALKED, "expected ':' but found '1'", 5),
    ('{"a": [1, 2,, 3]}', WALKED, "Expecting value", 12),
    ('{"a": [1 2]}', WALKED, "expected ',' or ']' but found '2'", 9),
    ('{"a": [1 2]}', WHOLE, "Expecting ',' delimiter", 9),
    ('{"a": "tab\there"}', WALKED, "Invalid control character at", 10),
    ('{"a": "\\x"}', WHOLE, "Invalid \\escape", 7),
    ('{"a": 1} {"b": 2}', WALKED, "unexpected '{' after the end of the document", 9),
    ("[1, 2] ]", WHOLE, "unexpected ']' after the end of the document", 7),
]


@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize(
    ("text", "walk", "problem", "offset"),
    [*TRUNCATED, *MALFORMED],
    ids=[
        f"{kind} {text!r} {'walked' if walk else 'whole'}"
        for kind, cases in (("truncated", TRUNCATED), ("malformed", MALFORMED))
        for text, walk, _, _ in cases
    ],
)
def test_truncated_or_malformed_input_is_reported_where_it_breaks(
    chunk: int | None, text: str, walk: bool, problem: str, offset: int
) -> None:
    """The same message and character offset whatever the chunk size."""
    error = raised(text, chunk, walk=walk)
    assert error.problem == f"malformed or truncated JSON ({problem}) (at character {offset:,})"


@pytest.mark.parametrize("chunk", CHUNKS)
def test_error_offset_deep_in_a_long_document(chunk: int | None) -> None:
    text = json.dumps({"products": [{"sku": str(i), "n": i} for i in range(3_000)]}, indent=1)
    at = text.index('"n": 2999') + len('"n": 2999')
    broken = text[:at] + " 7" + text[at:]
    for walk in (True, False):
        problem = raised(broken, chunk, walk=walk).problem
        assert problem.endswith(f"(at character {at + 1:,})"), (walk, problem)


def test_error_wording_and_the_error_helper() -> None:
    stream = JsonStream(
        io.StringIO('{"a": [}'),
        Path("offer.json"),
        fix="pass the offer file",
        syntax_message="malformed JSON at character {offset}: {detail}",
    )
    keys = stream.members()
    assert next(keys) == "a"
    with pytest.raises(PriceFileError) as info:
        stream.value()
    assert str(info.value) == (
        "offer.json: malformed JSON at character 7: Expecting value; pass the offer file"
    )
    assert str(stream.error("a wrong value", 12_345)) == (
        "offer.json: a wrong value (at character 12,345); pass the offer file"
    )
    assert stream.error("here").problem == "here (at character 6)"


def test_open_json_reads_plain_gzip_bom_and_crlf(tmp_path: Path) -> None:
    text = json.dumps(NESTED, indent=2, ensure_ascii=False).replace("\n", "\r\n")
    plain = tmp_path / "plain.json"
    plain.write_bytes(codecs.BOM_UTF8 + text.encode())
    packed = tmp_path / "packed.json.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    for path in (plain, packed):
        with open_json(sniff(path), fix=FIX, chunk_chars=5) as stream:
            assert rebuild(stream) == NESTED
            stream.expect_end()
            assert stream.offset == len(text)  # the file's own characters: \r\n counts two
    broken = tmp_path / "broken.json"
    broken.write_bytes(codecs.BOM_UTF8 + b'{\r\n  "a": 1\r\n  "b": 2\r\n}')
    with (
        pytest.raises(PriceFileError, match=r"found '\"'\) \(at character 15\)"),
        open_json(sniff(broken), fix=FIX) as stream,
    ):
        rebuild(stream)


def test_text_that_is_not_utf8_is_a_price_file_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"a": "café"}'.encode("latin-1"))
    with (
        pytest.raises(PriceFileError, match=r"latin1\.json: the text after character 0 is not"),
        open_json(sniff(path), fix=FIX) as stream,
    ):
        rebuild(stream)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    value=JSON_VALUES,
    chunk=st.integers(min_value=1, max_value=16),
    indent=st.sampled_from([None, 1]),
    ascii_only=st.booleans(),
)
def test_any_document_reads_back_whatever_the_chunks(
    value: Any, chunk: int, indent: int | None, ascii_only: bool
) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    assert read_all(text, chunk) == value
    assert stream_of(text, chunk).value() == value
    skipped = stream_of(f"[{text}, 1]", chunk)
    after = []
    for index in skipped.elements():
        if index == 0:
            skipped.skip()
        else:
            after.append(skipped.value())
    assert after == [1]
