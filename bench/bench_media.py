"""Photo pipeline benchmark: walkaudit.media.process_photo against a naive Pillow baseline.

Usage: python bench/bench_media.py [--quick]

On real phone photos (tests/data/photos/phone; ../shared/data/photos/phone adds extras when it is
there) and on a 12 MP 4032 x 3024 JPEG made from one of them (EXIF orientation 6, a GPS tag,
quality 92), in the same run, interleaved, medians of several repetitions:
  pipeline  process_photo(): upload copy + thumbnail + EXIF position/time, upright, no metadata
  naive     full decode -> ImageOps.exif_transpose -> thumbnail((2048, 2048), LANCZOS) -> JPEG q80
  decode    Image.open(p).load(): the full decode alone (the floor for anything that decodes it all)
Every output is checked (asserts): upright (same picture as the naive exif_transpose result, and as
the known upright source for the made one) and long edge within 1600-2048 px.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _report
import pillow_heif
from PIL import Image, ImageChops, ImageOps, ImageStat

from walkaudit.media import process_photo

ROOT = Path(__file__).resolve().parent.parent
PHONE = ROOT / "tests" / "data" / "photos" / "phone"
EXTRAS = ROOT.parent / "shared" / "data" / "photos" / "phone"  # not in a fresh clone
MAX_EDGE = 2048
pillow_heif.register_heif_opener()  # for the baseline and the decode floor


def naive(data: bytes) -> bytes:
    im = Image.open(io.BytesIO(data))
    im.load()
    upright = ImageOps.exif_transpose(im)
    upright.thumbnail((MAX_EDGE, MAX_EDGE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    upright.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def decode(data: bytes) -> None:
    Image.open(io.BytesIO(data)).load()


def pipeline(data: bytes) -> bytes:
    return process_photo(data).jpeg


def make_12mp(source: Path, folder: Path) -> tuple[Path, Image.Image]:
    """A 4032 x 3024 JPEG as a phone held upright writes it: pixels stored sideways, orientation 6
    (turn 90° clockwise to view), a GPS position. Returns it and the upright picture."""
    photo = Image.open(source).convert("RGB")
    w, h = photo.size
    crop_w = h * 3 // 4  # a portrait 3:4 piece of the photo, scaled up to 3024 x 4032
    upright = photo.crop(((w - crop_w) // 2, 0, (w + crop_w) // 2, h))
    upright = upright.resize((3024, 4032), Image.Resampling.LANCZOS)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (59.0, 16.0, 27.5), 3: "E", 4: (15.0, 12.0, 23.8)}  # Örebro
    path = folder / "made_12MP_orientation6.jpg"
    upright.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", quality=92, exif=exif)
    return path, upright


def mad(a: Image.Image, b: Image.Image) -> float:
    small_a, small_b = (im.convert("L").resize((32, 32), Image.Resampling.BOX) for im in (a, b))
    return ImageStat.Stat(ImageChops.difference(small_a, small_b)).mean[0]


def check(name: str, data: bytes, upright: Image.Image | None) -> str:
    """Assert the pipeline's output is upright and the right size; return "W x H"."""
    result = process_photo(data, name=name)
    out = Image.open(io.BytesIO(result.jpeg))
    assert 1600 <= max(out.size) <= MAX_EDGE, (name, out.size)
    reference = Image.open(io.BytesIO(naive(data)))
    # Same shape as the exif_transpose result (the pipeline may land smaller, e.g. 2016 px).
    assert abs(out.width / out.height - reference.width / reference.height) < 0.01, name
    reference = reference.resize(out.size, Image.Resampling.BOX)
    assert mad(out, reference) < 8, (name, "differs from the exif_transpose result")
    if upright is not None:
        assert mad(out, upright) < 8, (name, "not upright")
        assert result.gps is not None and abs(result.gps.latitude - 59.2743) < 1e-3, name
    return f"{out.width} × {out.height}"


def measure(photos: dict[str, bytes], repeat: int) -> dict[str, dict[str, float]]:
    methods: dict[str, Callable[[bytes], object]] = {
        "pipeline": pipeline,
        "naive": naive,
        "decode": decode,
    }
    times: dict[str, dict[str, list[float]]] = {p: {m: [] for m in methods} for p in photos}
    for data in photos.values():  # warm up (first-call imports, HEIF registration, caches)
        for run in methods.values():
            run(data)
    order = list(methods)
    for rep in range(repeat):
        for name, data in photos.items():
            for method in order[rep % 3 :] + order[: rep % 3]:  # rotate: no method always first
                start = time.perf_counter()
                methods[method](data)
                times[name][method].append((time.perf_counter() - start) * 1000)
        print(f"  repetition {rep + 1}/{repeat}", file=sys.stderr, flush=True)
    return {p: {m: statistics.median(v) for m, v in t.items()} for p, t in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions instead of 15")
    args = parser.parse_args()
    repeat = 3 if args.quick else 15

    paths = [PHONE / "HMD_Nokia_8.3_5G.jpg", PHONE / "iphone_13_pro_max.HEIC"]
    extras = ["iphone_hdr_YES.jpg", "jolla.jpg", "HMD_Nokia_8.3_5G.heif"]
    paths += [EXTRAS / name for name in extras if (EXTRAS / name).is_file()]
    with tempfile.TemporaryDirectory() as folder:
        made, upright = make_12mp(PHONE / "HMD_Nokia_8.3_5G.jpg", Path(folder))
        paths.append(made)
        photos = {p.name: p.read_bytes() for p in paths}
    info = {}
    for name, data in photos.items():
        with Image.open(io.BytesIO(data)) as im:
            size = f"{im.width} × {im.height} {im.format}"
        out = check(name, data, upright if name == made.name else None)
        info[name] = (size, f"{len(data) / 2**20:.1f} MB", out)

    print(f"measuring {len(photos)} photos, {repeat} repetitions", file=sys.stderr)
    medians = measure(photos, repeat)

    rows = [
        "| photo | input | file | output | pipeline ms | naive ms | decode ms | naive / pipeline |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    ratios = []
    for name, m in medians.items():
        ratio = m["naive"] / m["pipeline"]
        ratios.append(ratio)
        size, mb, out = info[name]
        rows.append(
            f"| {name} | {size} | {mb} | {out} | {m['pipeline']:.0f} | {m['naive']:.0f}"
            f" | {m['decode']:.0f} | {ratio:.2f}× |"
        )
    overall = statistics.geometric_mean(ratios)
    markdown = "\n".join(
        [
            "## Photo pipeline (`bench/bench_media.py`)",
            "",
            f"Machine: {_report.machine(('pillow', 'pillow-heif'))}",
            "",
            f"Median of {repeat} interleaved repetitions per photo{' (--quick)' * args.quick};"
            " *pipeline* = `process_photo()` (upload copy + thumbnail + EXIF position/time),"
            " *naive* = full decode → `exif_transpose` → `thumbnail(2048, LANCZOS)` → JPEG q80,"
            " *decode* = `Image.open(p).load()` alone. All outputs checked upright and"
            " 1600–2048 px.",
            "",
            *rows,
            "",
            f"Geometric mean naive / pipeline: **{overall:.2f}×**. JPEGs are decoded at a"
            " reduced DCT scale (1/2, 1/4, 1/8): when that lands the long edge between 1600 and"
            f" {MAX_EDGE} px (12 MP → 2016, 8 MP → 1632) nothing is resampled at all, which is"
            " why the pipeline can beat a bare full decode. HEIC/HEIF has no reduced-scale"
            " decode (libheif decodes every tile), so there the full decode is the floor and"
            " the goal of 3× cannot be reached; the pipeline's extra work there is the resize,"
            " the sRGB conversion of the Display P3 profile and the thumbnail.",
        ]
    )
    print(markdown)
    print(f"wrote {_report.write_section('media', markdown)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
