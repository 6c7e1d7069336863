"""TIFF maps: official layout, float32 round trip, atomic writes, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from dire_dsl.eval.tiff_maps import map_path, read_anomaly_map, write_anomaly_map


def test_round_trip_in_official_layout(tmp_path: Path) -> None:
    anomaly_map = np.random.default_rng(0).normal(size=(37, 53))
    path = write_anomaly_map(tmp_path, "pushpins", "logical_anomalies", "007", anomaly_map)
    assert path == tmp_path / "pushpins" / "test" / "logical_anomalies" / "007.tiff"
    back = read_anomaly_map(path)
    assert back.dtype == np.float32 and back.shape == (37, 53)
    np.testing.assert_array_equal(back, anomaly_map.astype(np.float32))
    assert tifffile.imread(path).dtype == np.float32  # what MVTec's script reads
    assert [p.name for p in path.parent.iterdir()] == ["007.tiff"]  # no temp file left


def test_overwrite_replaces(tmp_path: Path) -> None:
    write_anomaly_map(tmp_path, "c", "good", "000", np.zeros((2, 2)))
    path = write_anomaly_map(tmp_path, "c", "good", "000", np.ones((3, 2)))
    np.testing.assert_array_equal(read_anomaly_map(path), np.ones((3, 2), np.float32))


@pytest.mark.parametrize(
    ("anomaly_map", "message"),
    [
        (np.zeros(4), "2-D"),
        (np.zeros((2, 2, 3)), "2-D"),
        (np.array([[np.nan, 0.0]]), "NaN"),
        (np.array([[1e300, 0.0]]), "float32"),
        (np.array([["a"]]), "real numbers"),
    ],
)
def test_rejects_maps_the_official_script_cannot_use(tmp_path: Path, anomaly_map: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_anomaly_map(tmp_path, "c", "good", "000", anomaly_map)
    assert not any(tmp_path.rglob("*.tiff"))


@pytest.mark.parametrize("name", ["", "..", "a/b", "a\\b"])
def test_rejects_names_that_leave_the_layout(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="single folder/file name"):
        map_path(tmp_path, "c", name, "000")


def test_read_rejects_non_2d(tmp_path: Path) -> None:
    path = tmp_path / "rgb.tiff"
    tifffile.imwrite(path, np.zeros((2, 2, 3), np.float32), photometric="rgb")
    with pytest.raises(ValueError, match="2-D"):
        read_anomaly_map(path)
