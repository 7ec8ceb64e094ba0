#!/usr/bin/env python3
"""Peer decoder for the QR benchmark: zxing-cpp (PyPI wheel `zxing-cpp`) on the same frames.

Usage: zxing_cpp_peer.py DIR REPS
Reads every DIR/*.pgm (8-bit binary PGM, what the Rust bench writes), decodes it REPS times
with zxingcpp.read_barcodes (QR only, try_harder defaults), prints one JSON line per file:
{"file": ..., "text": <first decoded text or null>, "us": [per-rep microseconds...]}.
Exits 3 (and prints why on stderr) when zxingcpp or numpy is not importable, so the Rust
harness can report the peer as skipped with the fix.
"""
import json
import pathlib
import sys
import time

try:
    import numpy as np
    import zxingcpp
except ImportError as e:  # pragma: no cover - environment dependent
    print(f"zxing-cpp peer unavailable ({e}); install with: pip install zxing-cpp numpy", file=sys.stderr)
    sys.exit(3)


def read_pgm(path):
    data = path.read_bytes()
    # Header: P5 <w> <h> <max> followed by one whitespace byte; no comments in our files.
    parts = data.split(maxsplit=4)
    if parts[0] != b"P5":
        raise ValueError(f"{path}: not a binary PGM")
    w, h = int(parts[1]), int(parts[2])
    pixels = parts[4]
    return np.frombuffer(pixels[: w * h], dtype=np.uint8).reshape(h, w)


def main():
    folder = pathlib.Path(sys.argv[1])
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    print(json.dumps({"version": getattr(zxingcpp, "__version__", "unknown")}), flush=True)
    for path in sorted(folder.glob("*.pgm")):
        img = read_pgm(path)
        text = None
        us = []
        for _ in range(reps):
            t = time.perf_counter()
            found = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
            us.append((time.perf_counter() - t) * 1e6)
            text = found[0].text if found else None
        print(json.dumps({"file": path.name, "text": text, "us": us}), flush=True)


if __name__ == "__main__":
    main()
