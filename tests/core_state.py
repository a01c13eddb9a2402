"""A byte-exact fingerprint of a tracker's whole state, to prove a rejected call changed nothing."""

from __future__ import annotations

from typing import Any

import numpy as np


def state_of(obj: Any, _depth: int = 0) -> Any:
    """Plain nested data (arrays as dtype, shape and bytes) of ``obj`` and what it holds."""
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.dtype.str, obj.shape, obj.tobytes())
    if isinstance(obj, (int, float, str, bool, type(None), np.generic)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [state_of(v, _depth + 1) for v in obj]
    if isinstance(obj, dict):
        return {k: state_of(v, _depth + 1) for k, v in obj.items()}
    if _depth > 6:
        return repr(obj)
    names = list(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        names += [s for s in getattr(cls, "__slots__", ()) if not s.startswith("__")]
    if not names:
        return repr(obj)
    skip = {"_lock"}  # a lock's state says nothing about the tracking state
    return {
        n: state_of(getattr(obj, n), _depth + 1) for n in names if n not in skip and hasattr(obj, n)
    }
