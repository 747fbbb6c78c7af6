#!/usr/bin/env python3
"""Draws the Sluice app icon (a rounded teal tile, a sluice gate, water passing under it) and
writes the PNG sizes Tauri bundles plus a Windows .ico. Standard library only, so anyone can
regenerate the committed files: python3 src-tauri/icons/make_icons.py
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SUPERSAMPLE = 4  # per axis; edges are averaged over 16 samples per pixel

TILE_TOP = (0x14, 0xA0, 0x9A)
TILE_BOTTOM = (0x0B, 0x5F, 0x8A)
WHITE = (0xFF, 0xFF, 0xFF)
WATER = (0xBF, 0xEF, 0xF5)


def inside_rounded_rect(x, y, x0, y0, x1, y1, r):
    if x < x0 or x > x1 or y < y0 or y > y1:
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def wave_band(x, y, centre, amplitude, thickness):
    # A gentle sine wave; the band is the points within thickness/2 of it vertically.
    import math
    mid = centre + amplitude * math.sin(x * 2 * math.pi * 1.5)
    return abs(y - mid) <= thickness / 2


def sample(u, v):
    """Colour (r, g, b, a) at unit-square point (u, v); a is 0 or 1."""
    if not inside_rounded_rect(u, v, 0.04, 0.04, 0.96, 0.96, 0.2):
        return (0, 0, 0, 0)
    # Gate: two posts and a lintel, the gate leaf raised above the water.
    if inside_rounded_rect(u, v, 0.22, 0.18, 0.31, 0.84, 0.02) or inside_rounded_rect(u, v, 0.69, 0.18, 0.78, 0.84, 0.02):
        return WHITE + (1,)
    if inside_rounded_rect(u, v, 0.18, 0.16, 0.82, 0.25, 0.03):
        return WHITE + (1,)
    if inside_rounded_rect(u, v, 0.36, 0.30, 0.64, 0.46, 0.02):
        return WHITE + (1,)
    if wave_band(u, v, 0.60, 0.025, 0.065) or wave_band(u, v, 0.74, 0.025, 0.065):
        return WATER + (1,)
    t = v
    return tuple(round(a + (b - a) * t) for a, b in zip(TILE_TOP, TILE_BOTTOM)) + (1,)


def render(size):
    rows = []
    n = SUPERSAMPLE
    for py in range(size):
        row = bytearray()
        for px in range(size):
            r = g = b = a = 0.0
            for sy in range(n):
                for sx in range(n):
                    cr, cg, cb, ca = sample((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size)
                    r += cr * ca
                    g += cg * ca
                    b += cb * ca
                    a += ca
            if a:
                row += bytes((round(r / a), round(g / a), round(b / a), round(255 * a / (n * n))))
            else:
                row += b"\0\0\0\0"
        rows.append(bytes(row))
    return rows


def png_bytes(size):
    raw = b"".join(b"\0" + row for row in render(size))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    # 8-bit RGBA: Tauri refuses icons without an alpha channel.
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def ico_bytes(pngs):
    # An .ico may hold PNG images directly (Vista and later); 256 is written as 0.
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = 6 + 16 * len(pngs)
    entries = b""
    for size, data in pngs:
        dim = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return header + entries + b"".join(data for _, data in pngs)


def main():
    outputs = {"32x32.png": 32, "128x128.png": 128, "128x128@2x.png": 256, "icon.png": 512}
    cache = {}
    for name, size in outputs.items():
        cache[size] = png_bytes(size)
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(cache[size])
    for size in (16, 48):
        cache[size] = png_bytes(size)
    with open(os.path.join(HERE, "icon.ico"), "wb") as f:
        f.write(ico_bytes([(s, cache[s]) for s in (16, 32, 48, 256)]))


if __name__ == "__main__":
    main()
