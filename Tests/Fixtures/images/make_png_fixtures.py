#!/usr/bin/env python3
"""Writes the small PNG fixtures of ImageTests with a PNG encoder written here (stdlib only), so the
decoder is checked against files it did not produce. Pixel values follow the formulas that
ImageTests.swift asserts. Run from this folder: python3 make_png_fixtures.py"""
import struct, zlib

def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

def png(name, width, height, depth, color_type, rows, extra=b"", interlace=0):
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, interlace)
    raw = b"".join(rows)
    with open(name, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

def rows8(width, height, channels, value):
    return [b"\x00" + bytes(value(x, y, c) for x in range(width) for c in range(channels)) for y in range(height)]

# palette 4x3, 8-bit indices; index i = (x + y) % 4; a tRNS chunk (alpha is dropped on read).
palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 20, 30)]
plte = chunk(b"PLTE", b"".join(bytes(c) for c in palette)) + chunk(b"tRNS", bytes([0, 128, 255, 255]))
png("palette.png", 4, 3, 8, 3, rows8(4, 3, 1, lambda x, y, c: (x + y) % 4), plte)

# gray, 2 bits per pixel, 4x2: value (x + y) % 4 -> 0, 85, 170, 255. One byte per row of 4 pixels.
png("gray2bit.png", 4, 2, 2, 0, [b"\x00" + bytes([sum(((x + y) % 4) << (6 - 2 * x) for x in range(4))]) for y in range(2)])

# gray 16-bit, 3x2: 257 * (40 * x + 100 * y) -> 8-bit value 40 x + 100 y.
png("gray16.png", 3, 2, 16, 0, [b"\x00" + b"".join(struct.pack(">H", 257 * (40 * x + 100 * y)) for x in range(3)) for y in range(2)])

# RGB 16-bit, 2x2: channel c = 257 * (50 x + 20 y + 60 c) -> 8-bit 50 x + 20 y + 60 c.
png("rgb16.png", 2, 2, 16, 2, [b"\x00" + b"".join(struct.pack(">H", 257 * (50 * x + 20 * y + 60 * c)) for x in range(2) for c in range(3)) for y in range(2)])

# gray + alpha 8-bit, 2x2: gray 60 x + 30 y, alpha 7 (dropped).
png("gray_alpha.png", 2, 2, 8, 4, rows8(2, 2, 2, lambda x, y, c: 60 * x + 30 * y if c == 0 else 7))

# RGBA 8-bit, 3x2: channel c = 10 + 40 x + 70 y + c, alpha 0 (dropped, colours kept).
png("rgba.png", 3, 2, 8, 6, rows8(3, 2, 4, lambda x, y, c: 10 + 40 * x + 70 * y + c if c < 3 else 0))

# RGB 8-bit 9x9, Adam7 interlaced: channel c = (11 x + 17 y + 80 c) % 256.
def interlaced_rows(width, height, value):
    rows = []
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        xs, ys = range(x0, width, dx), range(y0, height, dy)
        if len(xs) == 0 or len(ys) == 0:
            continue
        rows += [b"\x00" + bytes(value(x, y, c) for x in xs for c in range(3)) for y in ys]
    return rows
png("interlaced.png", 9, 9, 8, 2, interlaced_rows(9, 9, lambda x, y, c: (11 * x + 17 * y + 80 * c) % 256), interlace=1)
