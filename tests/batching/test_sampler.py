from collections import Counter

import numpy as np
import pytest

from seqhealth.batching.sampler import BucketBatchSampler


def _lengths(n=203, seed=1):
    return np.random.default_rng(seed).integers(5, 400, size=n)


def _epoch(sampler, epoch):
    sampler.set_epoch(epoch)
    return [list(b) for b in sampler]


def test_single_rank_sees_every_sample_once_and_len_matches():
    lengths = _lengths()
    sampler = BucketBatchSampler(lengths, batch_size=16, pool_size_batches=4, seed=3)
    batches = _epoch(sampler, 0)
    assert len(sampler) == len(batches)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert all(len(b) <= 16 for b in batches)


@pytest.mark.parametrize("drop_last", [False, True])
def test_two_ranks_equal_steps_and_cover_dataset(drop_last):
    lengths = _lengths()
    samplers = [BucketBatchSampler(lengths, batch_size=10, pool_size_batches=3, seed=7,
                                   num_replicas=2, rank=r, drop_last=drop_last) for r in (0, 1)]
    for epoch in (0, 1):
        per_rank = [_epoch(s, epoch) for s in samplers]
        assert len(per_rank[0]) == len(per_rank[1]) == len(samplers[0]) == len(samplers[1])
        counts = Counter(i for batches in per_rank for b in batches for i in b)
        global_batches = samplers[0].global_batches()
        if drop_last:
            # Nothing repeated; only the surplus batch (odd count) is left out, on top of the
            # short batch at the end of each pool that drop_last removes anyway.
            assert max(counts.values()) == 1
            kept = global_batches[: len(global_batches) - len(global_batches) % 2]
            assert set(counts) == {i for b in kept for i in b}
            assert all(len(b) == 10 for b in global_batches)
        else:
            assert set(counts) == set(range(len(lengths)))
            repeated = [i for i, c in counts.items() if c > 1]
            # Documented repeats: exactly the first global batch when the count is odd.
            expected = list(global_batches[0]) if len(global_batches) % 2 else []
            assert sorted(repeated) == sorted(expected)
            assert max(counts.values()) <= 2


def test_token_budget_respected_and_covers_all():
    lengths = _lengths(300)
    sampler = BucketBatchSampler(lengths, max_tokens=1200, pool_size_batches=5, seed=0)
    batches = _epoch(sampler, 2)
    for b in batches:
        assert lengths[b].max() * len(b) <= 1200
    assert sorted(i for b in batches for i in b) == list(range(300))


def test_sample_longer_than_budget_gets_own_batch():
    sampler = BucketBatchSampler([5, 50, 5, 5], max_tokens=20, shuffle=False)
    batches = _epoch(sampler, 0)
    assert [1] in batches
    assert sorted(i for b in batches for i in b) == [0, 1, 2, 3]


def test_deterministic_per_seed_epoch_and_changes_across_epochs():
    lengths = _lengths()
    a = BucketBatchSampler(lengths, batch_size=8, seed=5)
    b = BucketBatchSampler(lengths, batch_size=8, seed=5)
    assert _epoch(a, 3) == _epoch(b, 3)
    assert _epoch(a, 0) != _epoch(a, 1)
    assert _epoch(a, 0) != _epoch(BucketBatchSampler(lengths, batch_size=8, seed=6), 0)


def test_buckets_reduce_padding_versus_random():
    lengths = _lengths(2000)
    sampler = BucketBatchSampler(lengths, batch_size=32, pool_size_batches=50, seed=0)
    batches = _epoch(sampler, 0)
    bucket_eff = lengths.sum() / sum(lengths[b].max() * len(b) for b in batches)
    perm = np.random.default_rng(0).permutation(len(lengths))
    random_batches = [perm[i:i + 32] for i in range(0, len(perm), 32)]
    random_eff = lengths.sum() / sum(lengths[b].max() * len(b) for b in random_batches)
    assert bucket_eff > 0.95 > random_eff


def test_no_shuffle_is_sorted_by_length():
    lengths = [7, 3, 9, 1, 4]
    batches = _epoch(BucketBatchSampler(lengths, batch_size=2, shuffle=False), 4)
    assert batches == [[3, 1], [4, 0], [2]]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="exactly one"):
        BucketBatchSampler([1, 2], batch_size=2, max_tokens=10)
    with pytest.raises(ValueError, match="rank"):
        BucketBatchSampler([1, 2], batch_size=2, num_replicas=2, rank=2)
