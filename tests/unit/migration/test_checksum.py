"""The migration checksum: order-independent, sensitive to any single-field change, exact on types."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tenant_pipeline.migration.checksum import checksum_of, item_digest
from tenant_pipeline.migration.item_codec import canonical_bytes, decode_item, encode_item

_text = st.text(min_size=1, max_size=12)
_scalar = st.one_of(
    _text.map(lambda value: {"S": value}),
    st.integers(-(10**12), 10**12).map(lambda value: {"N": str(value)}),
    st.booleans().map(lambda value: {"BOOL": value}),
    st.binary(min_size=1, max_size=8).map(lambda value: {"B": value}),
)
_value = st.recursive(
    _scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(lambda values: {"L": values}),
        st.dictionaries(_text, children, max_size=3).map(lambda values: {"M": values}),
    ),
    max_leaves=6,
)


@st.composite
def _items(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Distinct items keyed like the tenant store (pk, sk) with a few typed attributes."""
    ids = draw(st.lists(st.integers(0, 10_000), min_size=1, max_size=25, unique=True))
    return [
        {
            "pk": {"S": f"acme#contacts#{record_id % 8}"},
            "sk": {"S": str(record_id)},
            **draw(
                st.dictionaries(st.sampled_from(["name", "email", "age", "tags", "doc"]), _value, max_size=4)
            ),
        }
        for record_id in ids
    ]


@settings(max_examples=75, deadline=None)
@given(items=_items(), data=st.data())
def test_checksum_does_not_depend_on_order(items: list[dict[str, Any]], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(items))
    assert checksum_of(shuffled).hexdigest == checksum_of(items).hexdigest
    assert checksum_of(shuffled).count == len(items)


def _paths(value: dict[str, Any], prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every leaf of an item: (attribute, type, [index or key, type, ...])."""
    ((kind, raw),) = value.items()
    if kind == "M":
        return [path for key, child in raw.items() for path in _paths(child, (*prefix, kind, key))]
    if kind == "L":
        return [path for index, child in enumerate(raw) for path in _paths(child, (*prefix, kind, index))]
    return [(*prefix, kind)]


def _mutate(item: dict[str, Any], attribute: str, path: tuple[Any, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(item)
    node = changed[attribute]
    for kind, step in zip(path[:-1:2], path[1:-1:2], strict=True):
        node = node[kind][step]
    kind = path[-1]
    raw = node[kind]
    node[kind] = {
        "S": lambda: raw + "x",
        "N": lambda: str(int(raw) + 1),
        "BOOL": lambda: not raw,
        "B": lambda: raw + b"\x00",
    }[kind]()
    return changed


@settings(max_examples=75, deadline=None)
@given(items=_items(), data=st.data())
def test_checksum_changes_when_any_single_field_changes(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(items) - 1))
    item = items[index]
    # Every field: pk, sk and each leaf of each attribute (empty lists and maps have none).
    attribute = data.draw(st.sampled_from(sorted(name for name in item if _paths(item[name]))))
    path = data.draw(st.sampled_from(_paths(item[attribute])))
    changed = [*items[:index], _mutate(item, attribute, path), *items[index + 1 :]]
    assert checksum_of(changed).hexdigest != checksum_of(items).hexdigest


@settings(max_examples=50, deadline=None)
@given(items=_items())
def test_codec_round_trip_keeps_every_item_and_digest(items: list[dict[str, Any]]) -> None:
    for item in items:
        decoded = decode_item(encode_item(item))
        assert decoded == item
        assert item_digest(decoded) == item_digest(item)


def test_a_removed_or_duplicated_item_changes_the_checksum() -> None:
    items = [{"pk": {"S": "t#contacts#0"}, "sk": {"S": str(n)}, "name": {"S": f"n{n}"}} for n in range(5)]
    full = checksum_of(items)
    assert checksum_of(items[:-1]).hexdigest != full.hexdigest
    doubled = checksum_of([*items, items[0], items[0]])
    assert doubled.count == 7
    assert doubled.hexdigest != full.hexdigest


def test_sets_and_map_keys_are_canonical_whatever_their_order() -> None:
    one = {
        "tags": {"SS": ["b", "a"]},
        "doc": {"M": {"y": {"N": "1"}, "x": {"S": "v"}}},
        "bin": {"BS": [b"2", b"1"]},
    }
    two = {
        "bin": {"BS": [b"1", b"2"]},
        "doc": {"M": {"x": {"S": "v"}, "y": {"N": "1"}}},
        "tags": {"SS": ["a", "b"]},
    }
    assert canonical_bytes(one) == canonical_bytes(two)


def test_a_type_change_with_the_same_text_changes_the_digest() -> None:
    assert item_digest({"age": {"N": "42"}}) != item_digest({"age": {"S": "42"}})
