"""Byte-level mutations of a file, shared by the fuzz tests: a few deletions, insertions
or replacements, of random bytes or of YAML's own punctuation."""

from __future__ import annotations

from hypothesis import strategies as st

YAML_PUNCTUATION = [
    b":",
    b"- ",
    b"\n  ",
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"{",
    b"[",
    b"'",
    b'"',
    b"\t",
    b"#",
]


@st.composite
def mutated_bytes(draw: st.DrawFn, original: bytes, *, max_edits: int = 4) -> bytes:
    """`original` after one to `max_edits` edits at drawn positions."""
    data = bytearray(original)
    for _ in range(draw(st.integers(min_value=1, max_value=max_edits))):
        position = draw(st.integers(min_value=0, max_value=len(data)))
        chunk = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(YAML_PUNCTUATION))
        action = draw(st.sampled_from(["delete", "insert", "replace"]))
        if action == "delete":
            del data[position : position + len(chunk)]
        elif action == "insert":
            data[position:position] = chunk
        else:
            data[position : position + len(chunk)] = chunk
    return bytes(data)
