"""DataLoader: PyTorch's defaults, every example once per epoch, seeded permutations, reused buffers, exact resume."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.data import DataError, DataLoader, Dataset, TensorDataset, default_collate


def labelled(n, features=3):
    """x row i is filled with i, y[i] == i: any batch says which rows it holds."""
    x = np.repeat(np.arange(n, dtype=np.float32)[:, None], features, axis=1)
    return x, np.arange(n)


def epoch_rows(loader):
    return [yb.copy() for _, yb in loader]


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), shuffle=st.booleans(), seed=st.integers(0, 99),
       reuse=st.booleans())
def test_every_example_exactly_once_per_epoch(n, batch_size, shuffle, seed, reuse):
    x, y = labelled(n)
    loader = DataLoader(x, y, batch_size, shuffle=shuffle, seed=seed, reuse_buffers=reuse)
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
    a = DataLoader(x, y, 50, shuffle=True, seed=7)
    first, second = epoch_rows(a)[0], epoch_rows(a)[0]
    assert not np.array_equal(first, second) and a.epoch == 2
    b = DataLoader(x, y, 50, shuffle=True, seed=7)
    assert np.array_equal(epoch_rows(b)[0], first) and np.array_equal(epoch_rows(b)[0], second)
    assert not np.array_equal(epoch_rows(DataLoader(x, y, 50, shuffle=True, seed=8))[0], first)


def test_reuse_buffers_gathers_into_one_buffer_and_leaves_data_alone():
    x, y = labelled(8)
    loader = DataLoader(x, y, 4, shuffle=True, seed=0, reuse_buffers=True)
    batches = list(loader)  # without copying, both entries are the same buffer
    assert np.shares_memory(batches[0][0], batches[1][0])
    assert not np.shares_memory(batches[0][0], loader.x)
    batches[0][0][:] = -1  # scribbling on a batch does not touch the dataset
    assert (loader.x >= 0).all()


def test_reuse_buffers_without_shuffle_yields_read_only_views():
    x, y = labelled(5)
    xb, yb = next(iter(DataLoader(x, y, 2, reuse_buffers=True)))
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
    reference = run(DataLoader(x, y, 5, shuffle=True, seed=3), 4)
    a = DataLoader(x, y, 5, shuffle=True, seed=3)
    run(a, 2)
    state = json.loads(json.dumps(a.state_dict()))  # plain JSON survives
    b = DataLoader(x, y, 5, shuffle=True, seed=999)  # a different seed: the state must override it
    b.load_state_dict(state)
    assert b.epoch == 2
    resumed = run(b, 2)
    assert all(np.array_equal(r, s) for r, s in zip(reference[2:], resumed))


def test_state_round_trip_mid_epoch():
    x, y = labelled(23)
    reference = run(DataLoader(x, y, 5, shuffle=True, seed=3), 2)
    a = DataLoader(x, y, 5, shuffle=True, seed=3)
    it = iter(a)
    head = [next(it)[1].copy() for _ in range(2)]
    state = json.loads(json.dumps(a.state_dict()))
    assert state["position"] == 2 and state["epoch"] == 0
    b = DataLoader(x, y, 5, shuffle=True, seed=0)
    b.load_state_dict(state)
    tail = np.concatenate(epoch_rows(b))
    assert np.array_equal(np.concatenate(head + [tail]), reference[0])
    assert np.array_equal(np.concatenate(epoch_rows(b)), reference[1])
    assert b.epoch == 2


def test_state_after_an_abandoned_epoch_points_to_the_next_one():
    x, y = labelled(10)
    a = DataLoader(x, y, 5, shuffle=True, seed=1)
    reference = run(DataLoader(x, y, 5, shuffle=True, seed=1), 2)
    for _ in zip(range(2), a):  # consumes both batches without exhausting the generator
        pass
    b = DataLoader(x, y, 5, shuffle=True)
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


# ---------------------------------------------------------------- PyTorch's defaults
def test_default_is_in_order_and_every_batch_a_new_array():
    """Collecting batches (the usual way to compute accuracy) keeps every label: PyTorch's
    default is shuffle=False and a fresh batch each time, not one buffer overwritten."""
    got = [yb.tolist() for _, yb in DataLoader(np.zeros((10, 2)), np.arange(10), 3)]
    assert got == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    x, y = labelled(10)
    for shuffle in (False, True):
        batches = list(DataLoader(x, y, 3, shuffle=shuffle, seed=0))
        labels = np.concatenate([yb for _, yb in batches])
        assert sorted(labels.tolist()) == list(range(10))
        assert all(np.array_equal(xb[:, 0], yb) for xb, yb in batches)  # still paired after the loop
        assert not any(np.shares_memory(a, b) for (a, _), (b, _) in zip(batches, batches[1:]))
        xb = batches[0][0]
        assert xb.flags.writeable and not np.shares_memory(xb, x)
        xb += 1  # in place on a batch, as PyTorch allows; the data stay as they were
        assert np.array_equal(DataLoader(x, y, 10).x, x)


def test_reuse_buffers_keeps_the_trainers_batches_bitwise():
    """Fresh arrays and reused buffers give the same batches from the same seed."""
    x, y = labelled(23)
    fresh = DataLoader(x, y, 4, shuffle=True, seed=5)
    reused = DataLoader(x, y, 4, shuffle=True, seed=5, reuse_buffers=True)
    for _ in range(2):
        for (xa, ya), (xb, yb) in zip(fresh, reused):
            assert xa.tobytes() == xb.tobytes() and ya.tobytes() == yb.tobytes()


def test_trainer_uses_the_shuffled_reusing_loader():
    import chainrule as cr
    from chainrule.train import Trainer

    data = cr.data.load_dataset("moons")
    clf = cr.Classifier.from_spec("4tanh", data.num_features, data.classes)
    trainer = Trainer(clf, data, cr.TrainConfig(epochs=1, batch_size=8, seed=3))
    assert trainer.loader.shuffle and trainer.loader.reuse_buffers
    reference = DataLoader(trainer.x_train, trainer.y_train, 8, shuffle=True, seed=3)
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(trainer.loader, reference))


# ---------------------------------------------------------------- Dataset, TensorDataset
def test_tensor_dataset_and_the_dataset_form():
    x, y = labelled(7)
    ds = TensorDataset(x.astype(np.float64), y)
    assert len(ds) == 7 and ds.tensors[0].dtype == np.float32 and ds.tensors[1].dtype == np.int64
    xi, yi = ds[3]
    assert xi.tolist() == [3.0, 3.0, 3.0] and int(yi) == 3
    batches = list(DataLoader(ds, batch_size=3, drop_last=True))
    assert [yb.tolist() for _, yb in batches] == [[0, 1, 2], [3, 4, 5]]
    assert [yb.tolist() for _, yb in DataLoader(ds, 4, True, seed=0)] != [[0, 1, 2, 3], [4, 5, 6]]
    assert [len(b) for b in DataLoader(TensorDataset(x, y, y), 5)] == [3, 3]  # a tuple per batch, any width
    with pytest.raises(DataError, match="different numbers of examples"):
        TensorDataset(x, y[:3])


class Pairs(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(2, i, np.float64), i


def test_any_dataset_is_collated_into_tuples_of_arrays():
    batches = list(DataLoader(Pairs(5), batch_size=2))
    assert [type(b) for b in batches] == [tuple] * 3
    xb, yb = batches[0]
    assert xb.tolist() == [[0, 0], [1, 1]] and xb.dtype == np.float32 and yb.dtype == np.int64
    shuffled = np.concatenate([yb for _, yb in DataLoader(Pairs(9), 4, shuffle=True, seed=1)])
    assert sorted(shuffled.tolist()) == list(range(9)) and shuffled.tolist() != list(range(9))
    rows = list(DataLoader(np.arange(6.0).reshape(3, 2), batch_size=2))  # an array is a data set of rows
    assert [r.tolist() for r in rows] == [[[0, 1], [2, 3]], [[4, 5]]]
    dicts = list(DataLoader([{"a": 1, "b": [1.0, 2.0]}] * 3, batch_size=3))
    assert dicts[0]["a"].tolist() == [1, 1, 1]
    assert [b.tolist() for b in dicts[0]["b"]] == [[1, 1, 1], [2, 2, 2]]  # a list is collated position by position
    assert default_collate([(1.5, 2)])[0].dtype == np.float32


def test_generator_drives_the_shuffle():
    x, y = labelled(12)
    a = [yb.tolist() for _, yb in DataLoader(x, y, 4, shuffle=True, generator=np.random.default_rng(3))]
    b = [yb.tolist() for _, yb in DataLoader(x, y, 4, shuffle=True, seed=3)]
    assert a == b
    gen = np.random.default_rng(3)
    DataLoader(x, y, 4, shuffle=True, generator=gen).__iter__()
    assert gen.bit_generator.state != np.random.default_rng(3).bit_generator.state  # used in place


def test_without_seed_or_generator_the_global_seed_decides():
    import chainrule as cr

    x, y = labelled(12)

    def epoch():
        return [yb.tolist() for _, yb in DataLoader(x, y, 4, shuffle=True)]

    cr.manual_seed(1)
    first = epoch()
    cr.manual_seed(1)
    assert epoch() == first
    cr.manual_seed(2)
    assert epoch() != first


@pytest.mark.parametrize("args, kwargs, message", [
    ((TensorDataset(np.zeros(3)), np.zeros(3)), {}, "a Dataset comes alone"),
    ((np.zeros((3, 1)), "y"), {}, "batch_size .an integer. or labels y"),
    ((np.zeros((3, 1)), np.zeros(3), 2), {"batch_size": 2}, "batch_size given both"),
    ((TensorDataset(np.zeros(3)), 2, True), {"shuffle": True}, "shuffle given both"),
    ((np.zeros((3, 1)), np.zeros(3), 2, True, 1), {}, "too many positional"),
    ((np.zeros((3, 1)), np.zeros(3), 2), {"shuffle": 1}, "shuffle must be True or False"),
    ((np.zeros((3, 1)), np.zeros(3)), {"seed": 0, "generator": np.random.default_rng(0)}, "not both"),
    ((np.zeros((3, 1)), np.zeros(3)), {"generator": 0}, "numpy.random.Generator"),
    ((Pairs(3), 2), {"reuse_buffers": True}, "reuse_buffers needs arrays"),
    ((5, 2), {}, "needs __len__ and __getitem__"),
])
def test_ambiguous_or_wrong_arguments_are_refused_in_one_line(args, kwargs, message):
    with pytest.raises(TypeError, match=message) as err:
        DataLoader(*args, **kwargs)
    assert "\n" not in str(err.value)


def test_collate_fn_receives_the_list_of_examples():
    x, y = labelled(5)
    got = list(DataLoader(TensorDataset(x, y), batch_size=2, collate_fn=lambda items: [int(i[1]) for i in items]))
    assert got == [[0, 1], [2, 3], [4]]
