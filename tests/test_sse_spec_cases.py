"""The web-platform-tests `eventsource/format-*` cases, ported to our byte-level decoder.

Each case names the WPT test it comes from: eventsource/<name> (the extension changed over
the years, .htm, .js, .any.js, so we cite the stable base name). The bytes are what the
test's server resource sends: `resources/message.py` writes `message + newline + "\\n"`,
where newline defaults to "\\n\\n" and `newline=none` means "". A browser test that
reconnects sees events again after reconnecting; a decoder sees one stream, so we list the
events of that one stream. Cases about Content-Type, CORS or reconnection timing are not
about the byte format and are left out (format-mime-*: a decoder never sees headers).
"""

from __future__ import annotations

import pytest

from helpers.sse import ServerSentEvent, SSEDecoder


def message_resource(message: str | bytes, newline: str = "\n\n") -> bytes:
    """What WPT's eventsource/resources/message.py sends for ?message=...&newline=..."""
    body = message.encode("utf-8") if isinstance(message, str) else message
    return body + newline.encode() + b"\n"


def decode(body: bytes, *, byte_by_byte: bool) -> tuple[list[ServerSentEvent], SSEDecoder]:
    decoder = SSEDecoder()
    pieces = [body[i : i + 1] for i in range(len(body))] if byte_by_byte else [body]
    events = [event for piece in pieces for event in decoder.feed(piece)]
    events += decoder.close()
    return events, decoder


LONG = "x" * 2048

# (WPT file, bytes sent, expected (event type, data, lastEventId) of each dispatched event)
WPT_CASES = [
    (
        # The first BOM is stripped; the second is part of the field name "\ufeffdata",
        # an unknown field, so "2" is never dispatched.
        "format-bom",
        message_resource(b"\xef\xbb\xbfdata:1\n\n\xef\xbb\xbfdata:2\n\ndata:3"),
        [("message", "1", ""), ("message", "3", "")],
    ),
    (
        "format-bom-2",  # only ONE leading BOM is stripped
        message_resource(b"\xef\xbb\xbf\xef\xbb\xbfdata:1\n\ndata:2\n\ndata:3"),
        [("message", "2", ""), ("message", "3", "")],
    ),
    (
        "format-comments",
        message_resource(
            f"data:1\r:\0\n:\r\ndata:2\n:{LONG}\rdata:3\n:data:fail\r:{LONG}\ndata:4\n", newline=""
        ),
        [("message", "1\n2\n3\n4", "")],
    ),
    (
        # The id line is in an event that never gets its blank line: it is not dispatched,
        # and its id never becomes the last event ID.
        "format-data-before-final-empty-line",
        message_resource("retry:1000\ndata:test1\n\nid:test\ndata:test2", newline=""),
        [("message", "test1", "")],
    ),
    (
        "format-field-data",  # "data:" gives "", two bare "data" lines give "\n"
        message_resource("data:\n\ndata\ndata\n\ndata:test"),
        [("message", "", ""), ("message", "\n", ""), ("message", "test", "")],
    ),
    (
        "format-field-event-empty",  # an empty event type means "message"
        message_resource("event: \ndata:data"),
        [("message", "data", "")],
    ),
    (
        "format-field-event",  # the event type does not leak into the next event
        message_resource("event:test\ndata:x\n\ndata:x"),
        [("test", "x", ""), ("message", "x", "")],
    ),
    (
        # format-field-id and format-field-id-2, served by last-event-id.py on the first
        # connection. A non-ASCII id is fine.
        "format-field-id",
        "id: …\nretry: 200\ndata: hello\n\n".encode(),
        [("message", "hello", "…")],
    ),
    (
        "format-field-id-3 (persists)",  # served by last-event-id2.py?type=1
        b"id: 1\ndata: 1\n\ndata:2\n\n",
        [("message", "1", "1"), ("message", "2", "1")],
    ),
    (
        "format-field-id-3 (changes and persists)",  # last-event-id2.py?type=2
        b"id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n",
        [("message", "1", "1"), ("message", "2", "2"), ("message", "3", "2")],
    ),
    (
        "format-field-id-3 (resets)",  # last-event-id2.py?type=3: "id:" resets it
        b"id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n",
        [("message", "1", "1"), ("message", "2", ""), ("message", "3", "")],
    ),
    (
        # format-field-id-null: an id containing U+0000 is ignored (the current spec's
        # "If the field value does not contain U+0000 NULL" rule); the previous id stays.
        "format-field-id-null (adapted)",
        b"id: 1\ndata: a\n\nid: \x00\x00\ndata: hello\n\n",
        [("message", "a", "1"), ("message", "hello", "1")],
    ),
    (
        "format-field-parsing",  # NUL in values and names, "Data" is not "data", ...
        message_resource(
            "data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\r"
            "data:\r\n data:32\ndata:4\n",
            newline="",
        ),
        [("message", "\0\n 2\n1\n3\n\n4", "")],
    ),
    (
        "format-field-retry-empty",  # a bare "retry" line: empty value, ignored
        message_resource("retry\ndata:test"),
        [("message", "test", "")],
    ),
    (
        "format-field-unknown",  # " data" (leading space) and "foobar" are unknown
        message_resource(
            "data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test"
        ),
        [("message", "test\n\ntest", "")],
    ),
    (
        "format-leading-space",  # only a SPACE is stripped, not a tab
        message_resource("data:\ttest\rdata: \ndata:test"),
        [("message", "\ttest\n\ntest", "")],
    ),
    (
        "format-newlines",  # CRLF, LF and CR all end lines
        message_resource("data:test\r\ndata\ndata:test\r\n\r", newline=""),
        [("message", "test\n\ntest", "")],
    ),
    (
        "format-null-character",
        message_resource("data:\0\n\n\n"),
        [("message", "\0", "")],
    ),
    (
        # Served as "text/event-stream;charset=windows-1252": the charset is ignored,
        # the stream is always UTF-8.
        "format-utf-8",
        message_resource(b"data:ok\xe2\x80\xa6"),
        [("message", "ok…", "")],
    ),
    (
        # event-data, "lines and data parsing". Its resource (message2.py) was not in
        # our reference index: these bytes are our reconstruction of what it sends, checked
        # against the three events the test expects.
        "event-data (resource reconstructed)",
        b"data:msg\ndata:msg\n\n:\nfalsefield:msg\n\nfalsefield:msg\nData:data\n\ndata\n\ndata:end\n\n",
        [("message", "msg\nmsg", ""), ("message", "", ""), ("message", "end", "")],
    ),
]


@pytest.mark.parametrize("byte_by_byte", [False, True], ids=["whole", "byte-by-byte"])
@pytest.mark.parametrize(("wpt_file", "body", "expected"), WPT_CASES, ids=[c[0] for c in WPT_CASES])
def test_wpt_format_case(wpt_file, body, expected, byte_by_byte):
    events, _ = decode(body, byte_by_byte=byte_by_byte)
    assert [(e.event, e.data, e.id) for e in events] == expected


@pytest.mark.parametrize(
    ("wpt_file", "body", "expected_retry"),
    [
        ("format-field-retry", message_resource("retry:02000\ndata:x"), 2000),  # not octal
        ("format-field-retry-bogus", message_resource("retry:2000\nretry:1000x\ndata:x"), 2000),
        ("format-data-before-final-empty-line", message_resource("retry:1000\ndata:a"), 1000),
        ("format-field-retry-empty", message_resource("retry\ndata:test"), None),
    ],
)
def test_wpt_retry_case(wpt_file, body, expected_retry):
    # The browser tests time the reconnection; a decoder exposes the reconnection time.
    _, decoder = decode(body, byte_by_byte=False)
    assert decoder.retry == expected_retry


@pytest.mark.parametrize(
    ("wpt_file", "body", "expected_last_event_id"),
    [
        # What the browser would send as Last-Event-ID when it reconnects.
        ("format-field-id", "id: …\nretry: 200\ndata: hello\n\n".encode(), "…"),
        ("format-field-id-null (adapted)", b"id: \x00\x00\ndata: hello\n\n", ""),
        (
            "format-data-before-final-empty-line",
            message_resource("retry:1000\ndata:test1\n\nid:test\ndata:test2", newline=""),
            "",
        ),
    ],
)
def test_wpt_last_event_id_for_reconnection(wpt_file, body, expected_last_event_id):
    _, decoder = decode(body, byte_by_byte=False)
    assert decoder.last_event_id == expected_last_event_id
