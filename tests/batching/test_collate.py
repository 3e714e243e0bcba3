import numpy as np
import pytest
import torch

from seqhealth.batching.collate import IGNORE_LABEL, pad_collate
from seqhealth.batching.dataset import SequenceDataset


def test_tokens_tagging_shapes_and_mask():
    ds = SequenceDataset([
        {"x": np.array([1, 2, 3], dtype=np.uint8), "y": np.array([0, 1, 1]), "length": 3},
        {"x": np.array([4], dtype=np.uint8), "y": np.array([1]), "length": 1, "weight": 2.0},
    ])
    batch = pad_collate([ds[0], ds[1]])
    assert batch["x"].dtype == torch.long
    assert batch["x"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert batch["y"].tolist() == [[0, 1, 1], [1, IGNORE_LABEL, IGNORE_LABEL]]
    assert batch["mask"].tolist() == [[True, True, True], [True, False, False]]
    assert batch["lengths"].tolist() == [3, 1] and batch["lengths"].device.type == "cpu"
    assert batch["weight"].tolist() == [1.0, 2.0]
    assert batch["index"].tolist() == [0, 1]
    assert ds.lengths.tolist() == [3, 1]


def test_features_sequence_labels():
    ds = SequenceDataset([
        {"x": np.ones((2, 4)), "y": 1, "length": 2},
        {"x": np.full((5, 4), 2.0), "y": 0, "length": 5},
    ])
    batch = pad_collate([ds[0], ds[1]])
    assert batch["x"].shape == (2, 5, 4) and batch["x"].dtype == torch.float32
    assert batch["x"][0, 2:].abs().sum() == 0
    assert batch["y"].tolist() == [1, 0]


def test_bad_sample_names_sample_and_field():
    with pytest.raises(ValueError, match=r"sample 1: field 'x'"):
        SequenceDataset([{"x": [1, 2], "y": 0, "length": 2}, {"x": [1, 2], "y": 0, "length": 3}])
    with pytest.raises(ValueError, match=r"sample 0: missing field 'y'"):
        SequenceDataset([{"x": [1, 2], "length": 2}])
