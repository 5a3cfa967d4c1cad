"""Unit tests of the camera simulator's JPEG encoder (tools/camera_simulator); no real camera involved."""

import subprocess

import pytest
from sensingcam_simulator import jpeg


def test_zigzag_is_a_permutation_in_the_standard_order():
    """Runs against the camera simulator's code, not a real camera: the computed zig-zag order is right."""
    assert sorted(jpeg.ZIGZAG) == list(range(64))
    assert jpeg.ZIGZAG[:10] == (0, 1, 8, 16, 9, 2, 3, 10, 17, 24)
    assert jpeg.ZIGZAG[-4:] == (47, 55, 62, 63)


def test_huffman_codes_are_prefix_free_and_never_all_ones():
    """Runs against the camera simulator's code, not a real camera: the DHT tables are valid JPEG tables."""
    for codes in (jpeg.DC_CODES, jpeg.AC_CODES):
        for code, length in codes.values():
            assert code != (1 << length) - 1
        words = {format(code, f"0{length}b") for code, length in codes.values()}
        assert len(words) == len(codes)
        assert not any(a != b and b.startswith(a) for a in words for b in words)


def test_frames_are_jpegs_and_differ():
    """Runs against the camera simulator's code, not a real camera: frames start FFD8, end FFD9, and move."""
    frames = jpeg.frames()
    assert all(jpeg.is_jpeg(f) for f in frames)
    assert len(set(frames)) == len(frames)


def test_rejects_bad_sizes():
    """Runs against the camera simulator's code, not a real camera: sides must be multiples of 8."""
    with pytest.raises(ValueError):
        jpeg.encode_rgb(10, 8, [(0, 0, 0)] * 80)


@pytest.mark.usefixtures("ffmpeg")
def test_ffmpeg_decodes_the_pattern_to_the_expected_colours(tmp_path):
    """Runs against the camera simulator's code, not a real camera: a real decoder reads back the colour bars."""
    image = tmp_path / "frame.jpg"
    image.write_bytes(jpeg.pattern_frame(0))
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(image), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    assert len(raw) == 160 * 120 * 3

    def pixel(x, y):
        offset = (y * 160 + x) * 3
        return tuple(raw[offset:offset + 3])

    assert all(abs(a - b) <= 12 for a, b in zip(pixel(4, 60), (192, 192, 192), strict=True))  # grey bar
    assert all(abs(a - b) <= 12 for a, b in zip(pixel(100, 60), (192, 0, 0), strict=True))  # red bar
    assert all(abs(a - b) <= 12 for a, b in zip(pixel(50, 3), (235, 235, 235), strict=True))  # white bar, frame 0
