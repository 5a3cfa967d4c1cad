"""A small baseline JPEG encoder, so the simulator serves real JPEG images without Pillow or any other dependency.

The simulator needs a handful of synthetic images (the latest snapshot and the live WebSocket frames). They
are made once, at start-up, and shared by every virtual camera, so speed hardly matters; still, identical 8x8
blocks are transformed only once, which keeps start-up well under a second.

The encoder writes baseline sequential JPEG (SOF0), YCbCr 4:4:4, one quantisation table and one pair of
Huffman tables. The Huffman tables are not the example tables of the standard: DC categories get 4-bit codes
and AC symbols 8-bit codes, assigned canonically. Any decoder accepts them because they travel in the DHT
segment, and they are easy to check by eye.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from functools import lru_cache

# Natural-order index of each coefficient in zig-zag order, computed rather than typed in.
ZIGZAG: tuple[int, ...] = tuple(
    row * 8 + (s - row)
    for s in range(15)
    for row in (range(min(s, 7), max(0, s - 7) - 1, -1) if s % 2 == 0 else range(max(0, s - 7), min(s, 7) + 1))
)

# The luminance quantisation table from the JPEG standard (natural order), used for all three components.
QUANT: tuple[int, ...] = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip

# Huffman tables as (counts of codes of length 1..16, symbols in code order).
DC_SYMBOLS = tuple(range(12))
AC_SYMBOLS = (0x00, 0xF0) + tuple((run << 4) | size for run in range(16) for size in range(1, 11))
DC_BITS = (0, 0, 0, len(DC_SYMBOLS)) + (0,) * 12  # 12 codes of 4 bits
AC_BITS = (0,) * 7 + (len(AC_SYMBOLS),) + (0,) * 8  # 162 codes of 8 bits


def canonical_codes(bits: Sequence[int], symbols: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Return {symbol: (code, length)} for a JPEG Huffman table given as code-length counts and symbols."""
    codes: dict[int, tuple[int, int]] = {}
    code = 0
    index = 0
    for length, count in enumerate(bits, start=1):
        for _code_index in range(count):
            codes[symbols[index]] = (code, length)
            code += 1
            index += 1
        code <<= 1
    return codes


DC_CODES = canonical_codes(DC_BITS, DC_SYMBOLS)
AC_CODES = canonical_codes(AC_BITS, AC_SYMBOLS)

_DCT = [[(math.sqrt(0.5) if u == 0 else 1.0) / 2 * math.cos((2 * x + 1) * u * math.pi / 16) for x in range(8)]
        for u in range(8)]


@lru_cache(maxsize=4096)
def _encode_block(samples: tuple[int, ...]) -> tuple[int, ...]:
    """Forward DCT + quantisation of one level-shifted 8x8 block; returns the coefficients in zig-zag order."""
    rows = [samples[r * 8:(r + 1) * 8] for r in range(8)]
    # tmp[r][v] = sum_c rows[r][c] * A[v][c]  (horizontal pass), then F[u][v] = sum_r A[u][r] * tmp[r][v]
    tmp = [[sum(row[c] * _DCT[v][c] for c in range(8)) for v in range(8)] for row in rows]
    coeffs = [0] * 64
    for u in range(8):
        a_u = _DCT[u]
        for v in range(8):
            value = sum(a_u[r] * tmp[r][v] for r in range(8))
            coeffs[u * 8 + v] = round(value / QUANT[u * 8 + v])
    return tuple(coeffs[i] for i in ZIGZAG)


class _BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self._acc = 0
        self._n = 0

    def write(self, value: int, length: int) -> None:
        self._acc = (self._acc << length) | (value & ((1 << length) - 1))
        self._n += length
        while self._n >= 8:
            self._n -= 8
            byte = (self._acc >> self._n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0x00)  # byte stuffing
        self._acc &= (1 << self._n) - 1

    def flush(self) -> bytes:
        if self._n:
            self.write((1 << (8 - self._n)) - 1, 8 - self._n)  # pad with 1-bits
        return bytes(self.out)


def _magnitude(value: int) -> tuple[int, int]:
    """JPEG size category and the additional bits of a coefficient."""
    size = abs(value).bit_length()
    bits = value if value >= 0 else value + (1 << size) - 1
    return size, bits


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


def encode_rgb(width: int, height: int, pixels: Sequence[tuple[int, int, int]]) -> bytes:
    """Encode an RGB image (row-major list of (r, g, b)) whose sides are multiples of 8 as a baseline JPEG."""
    if width % 8 or height % 8 or width <= 0 or height <= 0:
        raise ValueError("width and height must be positive multiples of 8")
    if len(pixels) != width * height:
        raise ValueError("pixel count does not match width x height")
    planes: list[list[int]] = [[], [], []]
    for r, g, b in pixels:
        planes[0].append(round(0.299 * r + 0.587 * g + 0.114 * b) - 128)
        planes[1].append(round(-0.168736 * r - 0.331264 * g + 0.5 * b))
        planes[2].append(round(0.5 * r - 0.418688 * g - 0.081312 * b))
    writer = _BitWriter()
    previous_dc = [0, 0, 0]
    for by in range(0, height, 8):
        for bx in range(0, width, 8):
            for comp in range(3):
                plane = planes[comp]
                block = tuple(
                    max(-128, min(127, plane[(by + r) * width + bx + c])) for r in range(8) for c in range(8)
                )
                zz = _encode_block(block)
                diff = zz[0] - previous_dc[comp]
                previous_dc[comp] = zz[0]
                size, bits = _magnitude(diff)
                code, length = DC_CODES[size]
                writer.write(code, length)
                if size:
                    writer.write(bits, size)
                run = 0
                last_nonzero = max((i for i in range(1, 64) if zz[i]), default=0)
                for i in range(1, last_nonzero + 1):
                    if zz[i] == 0:
                        run += 1
                        continue
                    while run > 15:
                        code, length = AC_CODES[0xF0]
                        writer.write(code, length)
                        run -= 16
                    size, bits = _magnitude(zz[i])
                    code, length = AC_CODES[(run << 4) | size]
                    writer.write(code, length)
                    writer.write(bits, size)
                    run = 0
                if last_nonzero < 63:
                    code, length = AC_CODES[0x00]
                    writer.write(code, length)
    scan = writer.flush()

    header = bytearray(b"\xff\xd8")
    header += _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    header += _segment(0xDB, b"\x00" + bytes(QUANT[i] for i in ZIGZAG))
    header += _segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00")
    header += _segment(0xC4, b"\x00" + bytes(DC_BITS) + bytes(DC_SYMBOLS))
    header += _segment(0xC4, b"\x10" + bytes(AC_BITS) + bytes(AC_SYMBOLS))
    header += _segment(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00")
    return bytes(header) + scan + b"\xff\xd9"


# Colour bars of a classic test pattern.
_BARS = ((192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0), (192, 0, 192), (192, 0, 0), (0, 0, 192),
         (16, 16, 16))


def pattern_frame(frame: int = 0, width: int = 160, height: int = 120) -> bytes:
    """A colour-bar JPEG with a white bar whose vertical position encodes ``frame`` (so frames differ)."""
    bar_width = width // len(_BARS)
    rows = height // 8
    white_row = (frame % rows) * 8
    pixels = []
    for y in range(height):
        for x in range(width):
            if white_row <= y < white_row + 8:
                pixels.append((235, 235, 235))
            else:
                pixels.append(_BARS[min(x // bar_width, len(_BARS) - 1)])
    return encode_rgb(width, height, pixels)


@lru_cache(maxsize=1)
def frames(count: int = 15) -> tuple[bytes, ...]:
    """The live-image frame loop (made once per process)."""
    return tuple(pattern_frame(i) for i in range(count))


def is_jpeg(data: bytes) -> bool:
    """True when ``data`` starts with SOI and ends with EOI."""
    return len(data) > 4 and data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
