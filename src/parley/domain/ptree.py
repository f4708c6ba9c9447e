"""A persistent sorted map: a B+tree whose nodes are never changed once built.

``set`` and ``delete`` return a new map and leave the old one as it was; the two share every
node but the O(log n) on the path to the change (each a list of at most ``WIDTH`` entries, copied
in C). Lookups, ``rank`` (how many keys are smaller), ``at`` (the i-th entry) and iteration from
a key are O(log n) too. The routing core keeps its indexes in these so that an old ``Router``
stays valid next to the new one that a decision returns, without copying the queue.

Keys must be totally ordered among themselves (the routing core uses tuples).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar, Union

K = TypeVar("K")
V = TypeVar("V")

#: Entries per node at most; a node with fewer than ``WIDTH // 4`` is merged with a neighbour.
WIDTH = 64
_MIN = WIDTH // 4
_FILL = WIDTH * 3 // 4  # entries per node of a map built at once


class _Leaf:
    __slots__ = ("keys", "size", "vals")

    def __init__(self, keys: list[Any], vals: list[Any]) -> None:
        self.keys = keys
        self.vals = vals
        self.size: int = len(keys)

    def width(self) -> int:
        return len(self.keys)

    def top(self) -> Any:
        return self.keys[-1]


class _Node:
    __slots__ = ("kids", "maxes", "size", "sizes")

    def __init__(
        self, kids: list[_Tree], maxes: list[Any] | None = None, sizes: list[int] | None = None
    ) -> None:
        self.kids = kids
        self.maxes = [k.top() for k in kids] if maxes is None else maxes
        self.sizes = [k.size for k in kids] if sizes is None else sizes
        self.size: int = sum(self.sizes)

    def width(self) -> int:
        return len(self.kids)

    def top(self) -> Any:
        return self.maxes[-1]

    def patch(self, i: int, j: int, parts: list[_Tree]) -> _Node:
        """A copy with ``kids[i:j]`` replaced by ``parts``."""
        return _Node(
            [*self.kids[:i], *parts, *self.kids[j:]],
            [*self.maxes[:i], *(p.top() for p in parts), *self.maxes[j:]],
            [*self.sizes[:i], *(p.size for p in parts), *self.sizes[j:]],
        )


_Tree = Union[_Leaf, _Node]  # noqa: UP007 (a runtime alias: _Leaf | _Node needs 3.10 objects)


def _split(node: _Tree) -> list[_Tree]:
    if node.width() <= WIDTH:
        return [node]
    half = node.width() // 2
    if isinstance(node, _Leaf):
        return [
            _Leaf(node.keys[:half], node.vals[:half]),
            _Leaf(node.keys[half:], node.vals[half:]),
        ]
    return [
        _Node(node.kids[:half], node.maxes[:half], node.sizes[:half]),
        _Node(node.kids[half:], node.maxes[half:], node.sizes[half:]),
    ]


def _set(node: _Tree, key: Any, val: Any) -> tuple[list[_Tree], bool]:
    """The node(s) replacing ``node`` once ``key`` maps to ``val``; whether the key is new."""
    if isinstance(node, _Leaf):
        keys = node.keys
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            vals = node.vals.copy()
            vals[i] = val
            return [_Leaf(keys, vals)], False
        leaf = _Leaf([*keys[:i], key, *keys[i:]], [*node.vals[:i], val, *node.vals[i:]])
        return _split(leaf), True
    i = bisect_left(node.maxes, key)
    if i == len(node.kids):
        i -= 1
    parts, new = _set(node.kids[i], key, val)
    return _split(node.patch(i, i + 1, parts)), new


class _Missing(Exception):
    pass


def _merge(a: _Tree, b: _Tree) -> list[_Tree]:
    if isinstance(a, _Leaf) and isinstance(b, _Leaf):
        return _split(_Leaf(a.keys + b.keys, a.vals + b.vals))
    assert isinstance(a, _Node) and isinstance(b, _Node)
    return _split(_Node(a.kids + b.kids, a.maxes + b.maxes, a.sizes + b.sizes))


def _delete(node: _Tree, key: Any) -> _Tree | None:
    """``node`` without ``key`` (None once empty); ``_Missing`` when it has no such key."""
    if isinstance(node, _Leaf):
        i = bisect_left(node.keys, key)
        if i == len(node.keys) or node.keys[i] != key:
            raise _Missing
        if len(node.keys) == 1:
            return None
        return _Leaf(node.keys[:i] + node.keys[i + 1 :], node.vals[:i] + node.vals[i + 1 :])
    i = bisect_left(node.maxes, key)
    if i == len(node.kids):
        raise _Missing
    kid = _delete(node.kids[i], key)
    if kid is None:
        return node.patch(i, i + 1, []) if len(node.kids) > 1 else None
    if kid.width() < _MIN and len(node.kids) > 1:
        j = i - 1 if i > 0 else i + 1
        pair = (kid, node.kids[j]) if i < j else (node.kids[j], kid)
        return node.patch(min(i, j), max(i, j) + 1, _merge(*pair))
    return node.patch(i, i + 1, [kid])


def _iter(node: _Tree, key: Any, bounded: bool) -> Iterator[tuple[Any, Any]]:
    if isinstance(node, _Leaf):
        i = bisect_left(node.keys, key) if bounded else 0
        yield from zip(node.keys[i:], node.vals[i:], strict=True)
        return
    i = bisect_left(node.maxes, key) if bounded else 0
    for n, kid in enumerate(node.kids[i:]):
        yield from _iter(kid, key, bounded and n == 0)


def _leaves(node: _Tree) -> Iterator[_Leaf]:
    if isinstance(node, _Leaf):
        yield node
    else:
        for kid in node.kids:
            yield from _leaves(kid)


def _height(node: _Tree) -> int:
    height = 0
    while isinstance(node, _Node):
        node = node.kids[0]
        height += 1
    return height


def _open(nodes: list[_Tree], height: int) -> list[_Tree]:
    out: list[_Tree] = []
    for node in nodes:
        if isinstance(node, _Node) and _height(node) == height:
            out += node.kids
        else:
            out.append(node)
    return out


def _leaves_of(nodes: list[_Tree]) -> list[_Leaf]:
    return [n for n in nodes if isinstance(n, _Leaf)]


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + _FILL] for i in range(0, len(items), _FILL)]


class PMap(Generic[K, V]):
    """A persistent map ordered by key. Build one with ``PMap()`` or ``PMap.from_sorted``."""

    __slots__ = ("_root",)

    def __init__(self, root: _Tree | None = None) -> None:
        self._root = root

    @classmethod
    def from_sorted(cls, items: Iterable[tuple[K, V]]) -> PMap[K, V]:
        """A map of ``items``, given in increasing key order without repeats: O(n)."""
        pairs = list(items)
        if not pairs:
            return cls()
        level: list[_Tree] = [
            _Leaf([k for k, _ in chunk], [v for _, v in chunk]) for chunk in _chunks(pairs)
        ]
        while len(level) > 1:
            level = [_Node(chunk) for chunk in _chunks(level)]
        return cls(level[0])

    def __len__(self) -> int:
        return 0 if self._root is None else self._root.size

    def __bool__(self) -> bool:
        return self._root is not None

    def __contains__(self, key: object) -> bool:
        return self.get(key, _ABSENT) is not _ABSENT  # type: ignore[arg-type]

    def get(self, key: K, default: Any = None) -> Any:
        node = self._root
        if node is None:
            return default
        while isinstance(node, _Node):
            i = bisect_left(node.maxes, key)
            if i == len(node.kids):
                return default
            node = node.kids[i]
        i = bisect_left(node.keys, key)
        if i < len(node.keys) and node.keys[i] == key:
            return node.vals[i]
        return default

    def set(self, key: K, val: V) -> PMap[K, V]:
        if self._root is None:
            return PMap(_Leaf([key], [val]))
        parts, _ = _set(self._root, key, val)
        return PMap(parts[0] if len(parts) == 1 else _Node(parts))

    def delete(self, key: K) -> PMap[K, V]:
        """Without ``key``; the same map when it has no such key."""
        if self._root is None:
            return self
        try:
            root = _delete(self._root, key)
        except _Missing:
            return self
        while isinstance(root, _Node) and len(root.kids) == 1:
            root = root.kids[0]
        return PMap(root)

    def rank(self, key: K) -> int:
        """How many keys are smaller than ``key``."""
        node = self._root
        if node is None:
            return 0
        below = 0
        while isinstance(node, _Node):
            i = bisect_left(node.maxes, key)
            if i == len(node.kids):
                return node.size + below
            below += sum(node.sizes[:i])
            node = node.kids[i]
        return below + bisect_left(node.keys, key)

    def at(self, index: int) -> tuple[K, V]:
        """The entry at 0-based ``index`` in key order (negative counts from the end)."""
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(index)
        node = self._root
        assert node is not None
        while isinstance(node, _Node):
            for kid, n in zip(node.kids, node.sizes, strict=True):
                if index < n:
                    node = kid
                    break
                index -= n
        return node.keys[index], node.vals[index]

    def first(self) -> tuple[K, V] | None:
        return None if self._root is None else self.at(0)

    def ceiling(self, key: Any = None) -> K | None:
        """The first key not below ``key`` (the first key when None); None if there is none."""
        node = self._root
        if node is None:
            return None
        while isinstance(node, _Node):
            i = 0 if key is None else bisect_left(node.maxes, key)
            if i == len(node.kids):
                return None
            node = node.kids[i]
        i = 0 if key is None else bisect_left(node.keys, key)
        return node.keys[i] if i < len(node.keys) else None

    def items(self, start: Any = None) -> Iterator[tuple[K, V]]:
        """Entries in key order, from the first key not below ``start`` if one is given."""
        if self._root is None:
            return iter(())
        return _iter(self._root, start, start is not None)

    def keys(self, start: Any = None) -> Iterator[K]:
        return (k for k, _ in self.items(start))

    def values(self) -> list[V]:
        """Every value in key order (a list: one pass over the leaves)."""
        out: list[V] = []
        if self._root is not None:
            for leaf in _leaves(self._root):
                out += leaf.vals
        return out

    def __iter__(self) -> Iterator[K]:
        return self.keys()

    def diff(self, other: PMap[K, V]) -> tuple[dict[K, V], dict[K, V]]:
        """``(only here, only there)``: the entries of this map that ``other`` lacks or maps
        to an unequal value, and those of ``other`` that this map lacks or maps to an unequal
        value. Subtrees the two share are skipped, so when one was made from the other by
        ``set`` and ``delete`` this costs O(changes x log n), not O(n)."""
        mine: list[_Tree] = [] if self._root is None else [self._root]
        theirs: list[_Tree] = [] if other._root is None else [other._root]
        while True:
            shared = {id(n) for n in mine} & {id(n) for n in theirs}
            mine = [n for n in mine if id(n) not in shared]
            theirs = [n for n in theirs if id(n) not in shared]
            tallest = max(map(_height, [*mine, *theirs]), default=0)
            if tallest == 0:
                break
            # Open the tallest nodes on both sides: what they share shows at the level below.
            mine = _open(mine, tallest)
            theirs = _open(theirs, tallest)
        here = {
            k: v for leaf in _leaves_of(mine) for k, v in zip(leaf.keys, leaf.vals, strict=True)
        }
        there = {
            k: v for leaf in _leaves_of(theirs) for k, v in zip(leaf.keys, leaf.vals, strict=True)
        }
        for key in here.keys() & there.keys():
            if here[key] is there[key] or here[key] == there[key]:
                del here[key], there[key]
        return here, there

    def __repr__(self) -> str:
        return f"PMap({list(self.items())!r})"


_ABSENT: Any = object()
