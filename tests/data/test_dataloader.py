"""DataLoader: every example once per epoch, seeded permutations, reused buffers, exact resume."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.data import DataError, DataLoader


def labelled(n, features=3):
    """x row i is filled with i, y[i] == i: any batch says which rows it holds."""
    x = np.repeat(np.arange(n, dtype=np.float32)[:, None], features, axis=1)
    return x, np.arange(n)


def epoch_rows(loader):
    return [yb.copy() for _, yb in loader]


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), shuffle=st.booleans(), seed=st.integers(0, 99))
def test_every_example_exactly_once_per_epoch(n, batch_size, shuffle, seed):
    x, y = labelled(n)
    loader = DataLoader(x, y, batch_size, shuffle=shuffle, seed=seed)
    assert len(loader) == math.ceil(n / batch_size)
    for _ in range(2):
        sizes, seen = [], []
        for xb, yb in loader:
            assert xb.dtype == np.float32 and yb.dtype == np.int64
            assert np.array_equal(xb[:, 0], yb) and np.all(xb == xb[:, :1])  # rows stay paired
            sizes.append(len(yb))
            seen.extend(yb.tolist())
        assert sorted(seen) == list(range(n))
        assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
        if not shuffle:
            assert seen == list(range(n))


def test_drop_last():
    loader = DataLoader(*labelled(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(yb) for _, yb in loader] == [4, 4]
    assert len(DataLoader(*labelled(3), batch_size=4, drop_last=True)) == 0


def test_epochs_differ_and_seeds_reproduce():
    x, y = labelled(50)
    a = DataLoader(x, y, 50, seed=7)
    first, second = epoch_rows(a)[0], epoch_rows(a)[0]
    assert not np.array_equal(first, second) and a.epoch == 2
    b = DataLoader(x, y, 50, seed=7)
    assert np.array_equal(epoch_rows(b)[0], first) and np.array_equal(epoch_rows(b)[0], second)
    assert not np.array_equal(epoch_rows(DataLoader(x, y, 50, seed=8))[0], first)


def test_batches_reuse_one_buffer_and_leave_data_alone():
    x, y = labelled(8)
    loader = DataLoader(x, y, 4, seed=0)
    batches = list(loader)  # without copying, both entries are the same buffer
    assert np.shares_memory(batches[0][0], batches[1][0])
    assert not np.shares_memory(batches[0][0], loader.x)
    batches[0][0][:] = -1  # scribbling on a batch does not touch the dataset
    assert (loader.x >= 0).all()


def test_no_shuffle_yields_read_only_views():
    x, y = labelled(5)
    xb, yb = next(iter(DataLoader(x, y, 2, shuffle=False)))
    assert np.shares_memory(xb, x) and not xb.flags.writeable and not yb.flags.writeable
    x[0, 0] = 42  # the caller's array stays writable
    assert x[0, 0] == 42


def test_inputs_converted_to_float32_once():
    x = np.arange(12, dtype=np.float64).reshape(6, 2)
    loader = DataLoader(x, np.arange(6, dtype=np.uint8), 4)
    assert loader.x.dtype == np.float32 and loader.y.dtype == np.int64
    xf = x.astype(np.float32)
    assert DataLoader(xf, np.arange(6), 4).x is xf  # no copy when already float32
    assert DataLoader(xf, np.linspace(0, 1, 6), 4).y.dtype == np.float32  # regression targets


def run(loader, epochs):
    return [np.concatenate(epoch_rows(loader)) for _ in range(epochs)]


def test_state_round_trip_between_epochs_continues_identically():
    x, y = labelled(23)
    reference = run(DataLoader(x, y, 5, seed=3), 4)
    a = DataLoader(x, y, 5, seed=3)
    run(a, 2)
    state = json.loads(json.dumps(a.state_dict()))  # plain JSON survives
    b = DataLoader(x, y, 5, seed=999)  # a different seed: the state must override it
    b.load_state_dict(state)
    assert b.epoch == 2
    resumed = run(b, 2)
    assert all(np.array_equal(r, s) for r, s in zip(reference[2:], resumed))


def test_state_round_trip_mid_epoch():
    x, y = labelled(23)
    reference = run(DataLoader(x, y, 5, seed=3), 2)
    a = DataLoader(x, y, 5, seed=3)
    it = iter(a)
    head = [next(it)[1].copy() for _ in range(2)]
    state = json.loads(json.dumps(a.state_dict()))
    assert state["position"] == 2 and state["epoch"] == 0
    b = DataLoader(x, y, 5, seed=0)
    b.load_state_dict(state)
    tail = np.concatenate(epoch_rows(b))
    assert np.array_equal(np.concatenate(head + [tail]), reference[0])
    assert np.array_equal(np.concatenate(epoch_rows(b)), reference[1])
    assert b.epoch == 2


def test_state_after_an_abandoned_epoch_points_to_the_next_one():
    x, y = labelled(10)
    a = DataLoader(x, y, 5, seed=1)
    reference = run(DataLoader(x, y, 5, seed=1), 2)
    for _ in zip(range(2), a):  # consumes both batches without exhausting the generator
        pass
    b = DataLoader(x, y, 5)
    b.load_state_dict(a.state_dict())
    assert np.array_equal(np.concatenate(epoch_rows(b)), reference[1])


@pytest.mark.parametrize(
    "change, message",
    [
        ({"batch_size": 4}, "batch_size=4"),
        ({"num_examples": 7}, "num_examples=7"),
        ({"position": 99}, "position"),
        ({"bit_generator": {"bit_generator": "Nope"}}, "not a DataLoader state"),
    ],
)
def test_load_state_dict_rejects_a_foreign_state(change, message):
    loader = DataLoader(*labelled(10), 5)
    with pytest.raises(DataError, match=message):
        loader.load_state_dict({**loader.state_dict(), **change})
    with pytest.raises(DataError, match="not a DataLoader state"):
        loader.load_state_dict({})


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "4"])
def test_bad_batch_size(batch_size):
    with pytest.raises(DataError, match="batch_size"):
        DataLoader(*labelled(4), batch_size)


def test_length_mismatch():
    with pytest.raises(DataError, match="x has 4 examples but y has 3"):
        DataLoader(np.zeros((4, 2)), np.zeros(3), 2)
