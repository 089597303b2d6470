"""Sets of catalog actions as integer bit masks (bit i is the catalog's i-th action): build and read them."""

from __future__ import annotations

import re
from collections.abc import Iterator


def _range(lo: int, hi: int) -> int:
    """The mask of bits lo..hi-1."""
    return ((1 << (hi - lo)) - 1) << lo if hi > lo else 0


def _mask_of(indexes: list[int], size: int) -> int:
    """The mask with these bits set, built as bytes (linear, where OR-ing bits one by one is quadratic)."""
    buf = bytearray((size + 7) // 8)
    for i in indexes:
        buf[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buf, "little")


_NONZERO_BYTE = re.compile(rb"[^\x00]")
_BITS_OF_BYTE = tuple(tuple(b for b in range(8) if value >> b & 1) for value in range(256))


def _set_bits(mask: int) -> Iterator[int]:
    """Indexes of a mask's set bits, lowest first. The mask is read as bytes and zero bytes are skipped by
    a regex search (C speed), so a sparse mask costs little and a caller that stops early pays for what it
    read."""
    data = mask.to_bytes((mask.bit_length() + 7) // 8, "little")
    for found in _NONZERO_BYTE.finditer(data):
        at = found.start()
        base = at * 8
        for b in _BITS_OF_BYTE[data[at]]:
            yield base + b
