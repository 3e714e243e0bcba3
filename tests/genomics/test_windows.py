import numpy as np
import pytest

from seqhealth.genomics.windows import cut_windows, stitch


@pytest.mark.parametrize(
    ("length", "window", "overlap"),
    [
        (1000, 200, 50),
        (1001, 200, 50),
        (200, 200, 0),
        (57, 200, 50),
        (999, 100, 99),
        (5386, 512, 64),
    ],
)
def test_windows_cover_every_base_and_stay_inside(length, window, overlap):
    windows = cut_windows(length, window, overlap)
    covered = np.zeros(length, dtype=int)
    for start, end in windows:
        assert 0 <= start < end <= length
        assert end - start == min(window, length)
        covered[start:end] += 1
    assert covered.min() >= 1
    assert windows[-1][1] == length  # last window aligned to the end, no padding


def test_short_record_is_one_window_and_bad_arguments_raise():
    assert cut_windows(57, 200, 50) == [(0, 57)]
    assert cut_windows(1000, 200, 50)[:2] == [(0, 200), (150, 350)]
    with pytest.raises(ValueError):
        cut_windows(100, 50, 50)
    with pytest.raises(ValueError):
        cut_windows(100, 0, 0)


def test_stitch_is_the_exact_inverse_of_cutting_a_per_base_signal():
    rng = np.random.default_rng(0)
    length = 1234
    signal = rng.random(length).astype(np.float32)
    windows = cut_windows(length, 300, 75)
    stitched = stitch([s for s, _ in windows], [signal[s:e] for s, e in windows], length)
    assert stitched.dtype == np.float32 and stitched.shape == (length,)
    np.testing.assert_allclose(stitched, signal, rtol=0, atol=1e-7)


def test_stitch_averages_overlaps_and_supports_class_dimensions():
    probs = stitch([0, 2], [np.full((4, 2), 1.0), np.full((4, 2), 3.0)], 6)
    assert probs.shape == (6, 2)
    assert probs[:, 0].tolist() == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]


def test_stitch_refuses_uncovered_bases():
    with pytest.raises(ValueError, match="uncovered"):
        stitch([0], [np.ones(4)], 6)
