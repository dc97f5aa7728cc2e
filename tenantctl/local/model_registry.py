"""moto's registry of model instances, held weakly so the local AWS does not grow with use.

moto appends every instance of its models (`BaseModel` subclasses) to a class-level list,
`instances_tracked`, which its dashboard (`/moto-api/data.json`) lists and its reset empties. Nothing
else removes from it, so every object it ever made stays alive: each DynamoDB item a Query or Scan
copies into its answer, the copy of a whole table that every TransactWriteItems takes, each deleted SQS
message, each replaced S3 object. Over a thousand small imports that is gigabytes.

`keep_model_instances_weakly()` gives every model class a registry that forgets an instance once
nothing else holds it: the dashboard still lists every live instance, and a reset still empties it.
It is installed on moto's `InstanceTrackerMeta`, the metaclass of every model, as a data descriptor,
so both moto's `cls.instances_tracked.append(...)` and its reset's `cls.instances_tracked = []` go
through it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from moto.core.base_backend import InstanceTrackerMeta

_ATTRIBUTE = "instances_tracked"


class WeakInstances:
    """A list-like registry (`append`, iteration, `len`) that keeps no instance alive.

    Keyed by `id`, not by the instance, because some models (DynamoDB's `Item`) are unhashable.
    """

    def __init__(self, instances: Iterable[object] = ()) -> None:
        self._refs: dict[int, weakref.ref[Any]] = {}
        for instance in instances:
            self.append(instance)

    def append(self, instance: object) -> None:
        key = id(instance)
        self._refs[key] = weakref.ref(instance, partial(self._forget, key))

    def _forget(self, key: int, ref: weakref.ref[Any]) -> None:
        # Only this instance's own entry: a new instance may have been given the same id since.
        if self._refs.get(key) is ref:
            del self._refs[key]

    def __iter__(self) -> Iterator[Any]:
        live = (ref() for ref in tuple(self._refs.copy().values()))
        return iter([instance for instance in live if instance is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)


_registries: weakref.WeakKeyDictionary[type, WeakInstances] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _registry(cls: type) -> WeakInstances:
    registry = _registries.get(cls)
    if registry is not None:
        return registry
    with _lock:
        registry = _registries.get(cls)
        if registry is None:
            # moto's own list of what the class made before: taken over, then emptied to free it.
            existing = cls.__dict__.get(_ATTRIBUTE)
            registry = _registries[cls] = WeakInstances(existing or ())
            if isinstance(existing, list):
                existing.clear()
        return registry


def _replace(cls: type, instances: Iterable[object]) -> None:
    with _lock:
        _registries[cls] = WeakInstances(instances)


def keep_model_instances_weakly() -> None:
    """Install the weak registry on every moto model class, present and future (idempotent)."""
    if not isinstance(InstanceTrackerMeta.__dict__.get(_ATTRIBUTE), property):
        setattr(InstanceTrackerMeta, _ATTRIBUTE, property(_registry, _replace))
