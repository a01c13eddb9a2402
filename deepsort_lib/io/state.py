"""Tracker states on disk: one ``.npz`` file, arrays as members, everything else as JSON.

A state (``Tracker.state_dict()``, ``MultiStreamTracker.state_dict()``) is a tree of dicts,
lists, tuples, numpy arrays and JSON scalars. :func:`save_state` stores each array as an
``.npz`` member named after its place in the tree and the rest of the tree as one JSON
document (the ``__tree__`` member) that points at them, so nothing is pickled: a state file
loads with ``allow_pickle=False`` and cannot run code. Floats go through JSON's shortest
round-trip form, so they come back bit-identical.

The file is written atomically (:class:`~deepsort_lib.io.atomic.AtomicPath`): an existing
state is replaced only by a complete new one.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from deepsort_lib.errors import SourceError, StateError
from deepsort_lib.io.atomic import AtomicPath

_TREE = "__tree__"
_ARRAY = "$array"  # {"$array": member name}
_TUPLE = "$tuple"  # {"$tuple": [items]}: tuples (stream ids) come back as tuples


def _encode(value: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise StateError(f"state entry {path} holds Python objects; only numbers can be saved")
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {_ARRAY: name}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or key in (_ARRAY, _TUPLE):
                raise StateError(f"state entry {path} has a key {key!r} that cannot be saved")
            out[key] = _encode(item, f"{path}/{key}", arrays)
        return out
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(v, f"{path}[{i}]", arrays) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{path}[{i}]", arrays) for i, v in enumerate(value)]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise StateError(f"state entry {path} is a {type(value).__name__}, which cannot be saved")


def _decode(value: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if set(value) == {_ARRAY}:
            try:
                return arrays[value[_ARRAY]]
            except (KeyError, TypeError):
                raise StateError(f"state file lacks the array {value[_ARRAY]!r}") from None
        if set(value) == {_TUPLE} and isinstance(value[_TUPLE], list):
            return tuple(_decode(v, arrays) for v in value[_TUPLE])
        return {k: _decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    return value


def save_state(path: str | PathLike[str], state: Mapping[str, Any]) -> Path:
    """Write ``state`` to ``path`` (an ``.npz`` file) atomically; returns the path.

    Raises
    ------
    StateError
        If the state holds something other than arrays of numbers, dicts with string keys,
        lists, tuples and JSON scalars (nothing is written).
    SourceError
        If the file cannot be written (an existing file at ``path`` is left as it was).
    """
    arrays: dict[str, np.ndarray] = {}
    tree = json.dumps(_encode(state, "", arrays))
    target = AtomicPath(path, keep_suffix=True)
    try:
        with open(target.temp, "wb") as file:
            members: dict[str, Any] = {_TREE: np.array(tree), **arrays}
            np.savez(file, **members)
    except OSError as exc:
        target.abort()
        raise SourceError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        target.abort()
        raise
    return target.commit()


def load_state(path: str | PathLike[str]) -> dict[str, Any]:
    """Read a state written by :func:`save_state`.

    The result is the tree that was saved; hand it to ``Tracker.from_state`` or
    ``MultiStreamTracker.from_state``, which check its format and version.

    Raises
    ------
    SourceError
        If the file cannot be opened.
    StateError
        If it is not a state file, or is truncated or corrupt.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            if _TREE not in data.files:
                raise StateError(f"{path} is not a deepsort_lib state file")
            arrays = {name: data[name] for name in data.files if name != _TREE}
            tree = json.loads(str(data[_TREE]))
    except FileNotFoundError as exc:
        raise SourceError(f"state file {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise SourceError(f"state file {path} is a directory") from exc
    except PermissionError as exc:
        raise SourceError(f"cannot read state file {path}: permission denied") from exc
    except StateError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:  # JSON errors included
        raise StateError(f"{path} is not a readable deepsort_lib state file ({exc})") from exc
    if not isinstance(tree, dict):
        raise StateError(f"{path} is not a deepsort_lib state file")
    decoded = _decode(tree, arrays)
    assert isinstance(decoded, dict)
    return decoded


__all__ = ["load_state", "save_state"]
