"""SeenKeys: the keys of a file's earlier batches, held as hashes (24 bytes a key)."""

from __future__ import annotations

import numpy as np

from ingest.normalize import SeenKeys


def _labels(*keys: str) -> np.ndarray:
    return np.array(keys, dtype=object)


def test_earlier_batches_keys_are_found_with_their_first_index() -> None:
    seen = SeenKeys()
    h1, h2 = seen.hashes(_labels("91326000AB0001", "91326000AB0002"))
    assert seen.earlier(h1, h2).tolist() == [-1, -1]  # nothing seen yet
    seen.add(h1, h2, np.array([0, 1]))
    h1, h2 = seen.hashes(_labels("91326000AB0003", "91326000AB0002", "91326000AB0001"))
    assert seen.earlier(h1, h2).tolist() == [-1, 1, 0]
    seen.add(h1[:1], h2[:1], np.array([7]))
    h1, h2 = seen.hashes(_labels("91326000AB0003"))
    assert seen.earlier(h1, h2).tolist() == [7]


def test_a_first_hash_shared_by_two_keys_is_told_apart_by_the_second() -> None:
    seen = SeenKeys()
    one = np.array([5, 5, 9], dtype=np.uint64)
    seen.add(one, np.array([1, 2, 3], dtype=np.uint64), np.array([10, 11, 12]))
    found = seen.earlier(np.array([5, 5, 5, 9], dtype=np.uint64), np.array([2, 1, 3, 4], np.uint64))
    assert found.tolist() == [11, 10, -1, -1]


def test_a_million_keys_weigh_24_mb() -> None:
    seen = SeenKeys()
    for start in range(0, 1_000_000, 50_000):
        labels = np.array([f"91{i:012d}" for i in range(start, start + 50_000)], dtype=object)
        h1, h2 = seen.hashes(labels)
        assert not (seen.earlier(h1, h2) >= 0).any()
        seen.add(h1, h2, np.arange(start, start + 50_000))
    assert seen.h1.nbytes + seen.h2.nbytes + seen.first.nbytes == 24_000_000
    assert (seen.h1[1:] >= seen.h1[:-1]).all()  # kept sorted
