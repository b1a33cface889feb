#!/usr/bin/env python3
"""The pipeline's reports/index.html renders in headless Chromium.

Runs two quick stages of `spatial pipeline run` for real, screenshots the
report with `chromium --headless`, decodes the PNG (zlib + PNG filters, no
imaging library needed) and checks what a reader would see: a full-size page
with text (dark pixels), the green of a passed stage and the blue bars of the
latency chart are absent here (no deployment stage), so the stage table is
what must render.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

ARGS = None


def decode_png(path):
    """Returns (width, height, rows of (r, g, b) tuples)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8, "8-bit PNGs only"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    bpp = {2: 3, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return width, height, rows


class ReportScreenshotTest(unittest.TestCase):
    def test_report_renders(self):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        self.assertIsNotNone(chromium, "chromium is not installed "
                             "(scripts/install-deps.sh installs it)")
        with tempfile.TemporaryDirectory() as tmp:
            os.symlink(os.path.join(ARGS.source_dir, "models"),
                       os.path.join(tmp, "models"))
            os.symlink(os.path.join(ARGS.source_dir, "config"),
                       os.path.join(tmp, "config"))
            run = subprocess.run(
                [ARGS.binary, "pipeline", "run", "--stages",
                 "environment-validation,spatial-tests", "--registry",
                 os.path.join(tmp, "registry.db"), "--output",
                 os.path.join(tmp, "runs")],
                cwd=tmp, capture_output=True, text=True, timeout=300)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            html = [line.split("html: ", 1)[1].strip()
                    for line in run.stdout.splitlines()
                    if line.startswith("html: ")]
            self.assertEqual(len(html), 1, run.stdout)
            png = os.path.join(tmp, "report.png")
            shot = subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                 "--hide-scrollbars", "--window-size=1000,700",
                 "--user-data-dir=" + os.path.join(tmp, "profile"),
                 "--screenshot=" + png, "file://" + html[0]],
                capture_output=True, text=True, timeout=120)
            self.assertTrue(os.path.exists(png), shot.stdout + shot.stderr)
            width, height, rows = decode_png(png)
            self.assertEqual((width, height), (1000, 700))
            pixels = [p for row in rows for p in row]
            dark = sum(1 for p in pixels if max(p) < 80)  # text
            # The "passed" cell background of the stage table (#d7f0dc).
            green = sum(1 for p in pixels
                        if abs(p[0] - 0xd7) < 8 and abs(p[1] - 0xf0) < 8
                        and abs(p[2] - 0xdc) < 8)
            white = sum(1 for p in pixels if min(p) > 245)
            self.assertGreater(dark, 2000, "no text rendered")
            self.assertGreater(green, 500, "no passed stage rendered")
            self.assertGreater(white, len(pixels) // 4, "no page background")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--binary", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
