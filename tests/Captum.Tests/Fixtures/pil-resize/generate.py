#!/usr/bin/python3
"""Generates the PIL resize fixtures of ImageTransformTests (tests/Captum.Tests/Plugins/Vqa/Tutorial).

Run once, at development time, with Debian 12's python3-pil 9.4.0 (apt-get install python3-pil) on
/usr/bin/python3:

    /usr/bin/python3 tests/Captum.Tests/Fixtures/pil-resize/generate.py

The tests do not need Python or PIL: they read the PNG files this script wrote, which are committed.

For each case it writes
  src-WxH.png              a deterministic RGB test image (edges, gradients, pseudo-random noise from a
                           fixed linear congruential generator, so no numpy is needed), and
  pil-WxH-sizeS.png        PIL's img.resize((w, h), Image.BILINEAR) of it, the resize torchvision's
                           Resize(S) does on a PIL image: the shorter side becomes S and the longer
                           int(S * long / short).
"""

import os
import sys

import PIL
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))

# (source width, source height, Resize size): downscales and upscales, most with fractional scale factors.
CASES = [
    (37, 23, 16),   # down 1.44 / 1.48
    (37, 23, 40),   # up 0.58 / 0.57
    (100, 61, 24),  # down 2.54 / 2.56
    (61, 100, 45),  # down 1.36 / 1.37
    (9, 200, 7),    # down 1.29 / 1.29, long and thin
    (20, 15, 32),   # up 2.13 / 2.14
    (61, 100, 61),  # already at size: PIL returns a copy
]


def lcg(seed):
    """A 31-bit linear congruential generator (the C library's constants); yields bytes."""
    state = seed
    while True:
        state = (state * 1103515245 + 12345) % (1 << 31)
        yield (state >> 16) & 0xFF


def source_image(w, h):
    noise = lcg(w * 1000 + h)
    img = Image.new("RGB", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            n = next(noise)
            # Red: a horizontal ramp, inverted on a checkerboard of 4 x 5 cells (hard edges).
            r = (x * 255) // max(w - 1, 1)
            if ((x // 4) + (y // 5)) % 2:
                r = 255 - r
            # Green: a vertical ramp, inverted in the bottom left quarter; noise in the bottom right one.
            g = (y * 255) // max(h - 1, 1)
            if 2 * y >= h:
                g = n if 2 * x >= w else 255 - g
            # Blue: a dark square of 0 on a bright field, low-amplitude noise everywhere else.
            inside = w // 4 <= x < w // 2 and h // 4 <= y < h // 2
            b = 0 if inside else 220 + (n & 0x7)
            px[x, y] = (r, g, b)
    return img


def target_size(w, h, size):
    """torchvision's Resize(int) output size (width, height) for a w x h image."""
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if w <= h else (new_long, new_short)


def main():
    print(f"PIL {PIL.__version__}, python {sys.version.split()[0]}")
    for w, h, size in CASES:
        src = source_image(w, h)
        src.save(os.path.join(HERE, f"src-{w}x{h}.png"))
        out = src.resize(target_size(w, h, size), Image.BILINEAR)
        out.save(os.path.join(HERE, f"pil-{w}x{h}-size{size}.png"))
        print(f"{w}x{h} Resize({size}) -> {out.size[0]}x{out.size[1]}")


if __name__ == "__main__":
    main()
