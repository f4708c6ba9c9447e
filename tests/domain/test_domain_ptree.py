"""``PMap``, the persistent sorted map under the routing core's indexes, against a plain dict.

Sizes reach past one and two levels of nodes (``WIDTH`` entries each), deletions merge nodes,
and every old version must still read as it was when a newer one was made from it.
"""

from __future__ import annotations

import random
from bisect import bisect_left

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.domain.ptree import WIDTH, PMap


def check(tree: PMap[int, int], model: dict[int, int], probe: int) -> None:
    keys = sorted(model)
    assert len(tree) == len(model)
    assert bool(tree) == bool(model)
    assert tree.get(probe) == model.get(probe)
    assert (probe in tree) == (probe in model)
    assert tree.rank(probe) == bisect_left(keys, probe)
    assert list(tree.keys(probe))[:3] == keys[bisect_left(keys, probe) :][:3]
    if keys:
        i = probe % len(keys)
        assert tree.at(i) == (keys[i], model[keys[i]])
        assert tree.at(-1) == (keys[-1], model[keys[-1]])
        assert tree.first() == (keys[0], model[keys[0]])
    else:
        assert tree.first() is None
        with pytest.raises(IndexError):
            tree.at(0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("size", [0, WIDTH - 1, WIDTH * 5, WIDTH * WIDTH + 7])
def test_random_changes_keep_every_version(seed: int, size: int) -> None:
    rng = random.Random(seed * 1000 + size)
    span = max(4 * size, 200)
    model = {k: -k for k in sorted(rng.sample(range(span), size))}
    tree = PMap.from_sorted(model.items())
    versions = []
    for step in range(1500):
        key = rng.randrange(span)
        if rng.random() < 0.5:
            tree, model[key] = tree.set(key, step), step
        else:
            tree = tree.delete(key)
            model.pop(key, None)
        if step % 10 == 0:
            check(tree, model, rng.randrange(span))
        if step % 250 == 0:
            versions.append((tree, dict(model)))
    # Emptied out and refilled: merges all the way up.
    for key in list(model)[: len(model) * 9 // 10]:
        tree = tree.delete(key)
        del model[key]
    check(tree, model, rng.randrange(span))
    for old, was in versions:
        assert list(old.items()) == sorted(was.items())
        assert old.values() == [v for _, v in sorted(was.items())]


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 3 * WIDTH)), max_size=6 * WIDTH),
    st.integers(0, 3 * WIDTH),
)
def test_any_sequence_of_sets_and_deletes(ops: list[tuple[bool, int]], probe: int) -> None:
    tree: PMap[int, int] = PMap()
    model: dict[int, int] = {}
    for n, (add, key) in enumerate(ops):
        if add:
            tree, model[key] = tree.set(key, n), n
        else:
            tree = tree.delete(key)
            model.pop(key, None)
    check(tree, model, probe)
    assert list(tree) == sorted(model)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(
    st.lists(st.integers(0, 20 * WIDTH), unique=True, max_size=10 * WIDTH),
    st.integers(-1, 20 * WIDTH + 1),
)
def test_ceiling_is_the_first_key_from(keys: list[int], probe: int) -> None:
    tree = PMap.from_sorted((k, None) for k in sorted(keys))
    after = [k for k in sorted(keys) if k >= probe]
    assert tree.ceiling(probe) == (after[0] if after else None)
    assert tree.ceiling() == (min(keys) if keys else None)


def naive_diff(a: dict[int, int], b: dict[int, int]) -> tuple[dict[int, int], dict[int, int]]:
    here = {k: v for k, v in a.items() if b.get(k, object()) != v}
    there = {k: v for k, v in b.items() if a.get(k, object()) != v}
    return here, there


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    st.integers(0, 4 * WIDTH * WIDTH // 3),
    st.lists(st.tuples(st.booleans(), st.integers(0, 5 * WIDTH * WIDTH // 3)), max_size=3 * WIDTH),
    st.booleans(),
)
def test_diff_finds_exactly_what_changed(
    size: int, ops: list[tuple[bool, int]], swap: bool
) -> None:
    """Two versions, one made from the other (shared nodes skipped), or two maps built apart
    (nothing shared): the diff is the plain dicts' diff, both ways round."""
    model = {k: -k for k in range(0, 2 * size, 2)}
    old = PMap.from_sorted(model.items())
    tree, now = old, dict(model)
    for n, (add, key) in enumerate(ops):
        if add:  # n % 3 == 0 sets a key to the value it has: not a change
            value = now.get(key, n) if n % 3 == 0 else n
            tree, now[key] = tree.set(key, value), value
        else:
            tree = tree.delete(key)
            now.pop(key, None)
    a, b, ma, mb = (tree, old, now, model) if swap else (old, tree, model, now)
    assert a.diff(b) == naive_diff(ma, mb)
    apart = PMap.from_sorted(sorted(mb.items()))
    assert a.diff(apart) == naive_diff(ma, mb)
