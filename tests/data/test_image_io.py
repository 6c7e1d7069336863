"""Image files read as 8-bit RGB: wide integer images are scaled, never clipped to white."""

from __future__ import annotations

import os
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

from dire_dsl.data import image_io
from dire_dsl.data.errors import ImageReadError
from dire_dsl.data.image_io import open_image, read_rgb
from dire_dsl.run import inference


def gradient16(path: Path) -> Path:
    """A 16-bit grayscale PNG: a left-to-right ramp over the whole range, mid-gray in row 0."""
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (8, 1))
    ramp[0, 0] = 32768
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode == "I;16"
    return path


def test_16_bit_png_is_scaled_to_8_bit(tmp_path: Path) -> None:
    pixels = read_rgb(gradient16(tmp_path / "g16.png"))
    assert pixels.dtype == np.uint8 and pixels.shape == (8, 64, 3)
    assert pixels.min() == 0 and pixels.max() == 255 and len(np.unique(pixels)) > 32
    assert abs(int(pixels[0, 0, 0]) - 128) <= 1
    assert inference.read_rgb is read_rgb  # evaluation reads images like training does


@pytest.mark.parametrize("mode", ["I;16B", "I"])
def test_big_endian_16_bit_and_32_bit_images_are_scaled(mode: str) -> None:
    from dire_dsl.data.image_io import to_8bit

    values = np.array([[0, 32768, 65535]], dtype=np.uint16)
    image = Image.frombytes("I;16B", (3, 1), values.astype(">u2").tobytes()) if mode == "I;16B" else \
        Image.fromarray(values.astype(np.int32))
    assert image.mode == mode
    assert np.asarray(to_8bit(image)).tolist() == [[0, 128, 255]]
    wide = Image.fromarray(np.array([[0, 500_000, 1_000_000]], dtype=np.int32))  # beyond 16 bits: own max
    assert np.asarray(to_8bit(wide)).tolist() == [[0, 128, 255]]


def test_8_bit_images_and_raw_reads_are_unchanged(tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    assert np.array_equal(read_rgb(tmp_path / "rgb.png"), rgb)
    assert open_image(gradient16(tmp_path / "g16.png"), None).mode == "I;16"  # masks keep raw values


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="missing.png: file not found"):
        read_rgb(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match="is a folder"):
        read_rgb(tmp_path)
    (tmp_path / "bad.png").write_bytes(b"garbage")
    with pytest.raises(ImageReadError, match="bad.png"):
        open_image(tmp_path / "bad.png", "RGB")


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG of a few bytes whose header claims width x height RGB pixels (its data is not)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("side", [9000, 12000, 20000])  # ours, PIL's warning and PIL's error range
def test_huge_image_is_refused_before_decoding(tmp_path: Path, side: int) -> None:
    path = png_header_only(tmp_path / "bomb.png", side, side)
    for read in (read_rgb, lambda p: open_image(p, None)):  # masks are guarded too
        with pytest.raises(ImageReadError, match=r"bomb\.png: .*more than the limit of 64 megapixels"):
            read(path)
    if side < 20000:  # beyond twice its own limit, PIL refuses the header itself
        with pytest.raises(ImageReadError, match=f"{side}x{side} pixels"):
            read_rgb(path)


def test_image_at_the_limit_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image_io, "MAX_PIXELS", 100)
    Image.new("RGB", (10, 10)).save(tmp_path / "at.png")
    Image.new("RGB", (10, 11)).save(tmp_path / "over.png")
    assert read_rgb(tmp_path / "at.png").shape == (10, 10, 3)
    with pytest.raises(ImageReadError, match=r"over\.png: 10x11 pixels \(0\.0 megapixels\) is more than the limit"):
        read_rgb(tmp_path / "over.png")


def read_in_thread(path: Path) -> BaseException | None:
    """What reading `path` raises, failing (not hanging) the test if it blocks."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            read_rgb(path)
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 -- handed to the test
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert outcome, f"reading {path} blocked"
    return outcome[0]


def test_fifo_and_device_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    device = tmp_path / "zero.png"
    device.symlink_to("/dev/zero")
    for path in (fifo, device):
        error = read_in_thread(path)
        assert isinstance(error, ImageReadError), error
        assert str(error) == f"cannot read image {path}: is not a regular file (a FIFO, socket or device); " \
                             "give an image file"


def test_float_image_in_0_1_is_scaled(tmp_path: Path) -> None:
    values = np.array([[0.0, 0.5, 1.0], [0.25, 0.75, 1.0]], dtype=np.float32)
    Image.fromarray(values).save(tmp_path / "float.tiff")
    assert Image.open(tmp_path / "float.tiff").mode == "F"
    pixels = read_rgb(tmp_path / "float.tiff")
    assert pixels[..., 0].tolist() == [[0, 128, 255], [64, 191, 255]]
    assert (pixels[..., 0] == pixels[..., 2]).all()


@pytest.mark.parametrize("values", [[[0.0, 2.5]], [[-0.5, 0.5]], [[0.0, float("nan")]]])
def test_float_image_out_of_range_is_refused(tmp_path: Path, values: list[list[float]]) -> None:
    Image.fromarray(np.array(values, dtype=np.float32)).save(tmp_path / "float.tiff")
    with pytest.raises(ImageReadError, match=r"float\.tiff: a float image .*8- or 16-bit image$"):
        read_rgb(tmp_path / "float.tiff")


def test_exif_orientation_is_applied_to_images_not_masks(tmp_path: Path) -> None:
    stored = np.zeros((2, 3, 3), dtype=np.uint8)
    stored[0, 0] = 255  # top-left as stored
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # viewers rotate it 90 degrees clockwise
    Image.fromarray(stored).save(tmp_path / "phone.png", exif=exif)
    upright = read_rgb(tmp_path / "phone.png")
    assert upright.shape == (3, 2, 3)
    assert upright[0, 1].tolist() == [255, 255, 255] and upright.sum() == 3 * 255  # now top-right
    assert np.array_equal(np.asarray(open_image(tmp_path / "phone.png", None)), stored)  # masks: as stored
