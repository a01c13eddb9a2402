"""One place that creates onnxruntime sessions and chooses execution providers.

Detectors and encoders both call :func:`create_session`; neither knows about providers.
"""

from __future__ import annotations

import functools
import operator
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnx
import onnxruntime as ort

from deepsort_lib.errors import ConfigurationError, ModelError

#: Providers tried in this order by ``providers="auto"`` (those onnxruntime reports only).
PREFERRED_PROVIDERS: tuple[str, ...] = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CPUExecutionProvider",
)

_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "gpu": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
}

ProviderSpec = str | Sequence[str] | None


def available_providers() -> list[str]:
    """Execution providers this onnxruntime build reports."""
    return list(ort.get_available_providers())


def resolve_providers(
    providers: ProviderSpec = "auto", available: Sequence[str] | None = None
) -> list[str]:
    """Turn a user's provider request into the list given to onnxruntime.

    Parameters
    ----------
    providers
        ``"auto"`` or ``None``: TensorRT, then CUDA, then CPU, keeping those onnxruntime
        reports. ``"cpu"``, ``"cuda"``, ``"tensorrt"`` (or full provider names, or a list of
        them): exactly those, in order, with CPU appended as the fallback.
    available
        Providers to choose from; defaults to :func:`available_providers`.

    Raises
    ------
    ConfigurationError
        If a requested provider is unknown or not available in this onnxruntime build, or
        the request is empty or not made of names.
    """
    have = list(available) if available is not None else available_providers()
    if providers is None or providers == "auto":
        chosen = [p for p in PREFERRED_PROVIDERS if p in have]
        return chosen or ["CPUExecutionProvider"]
    requested = [providers] if isinstance(providers, str) else list(providers)
    if not requested or not all(isinstance(n, str) and n.strip() for n in requested):
        raise ConfigurationError(
            f"providers must be 'auto' or provider names such as 'cpu', got {providers!r}"
        )
    chosen = []
    for name in requested:
        full = _ALIASES.get(name.strip().lower(), name.strip())
        if full not in have:
            raise ConfigurationError(
                f"execution provider {name!r} is not available; this onnxruntime has {have}"
            )
        if full not in chosen:
            chosen.append(full)
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


def create_session(
    model: str | os.PathLike[str] | bytes,
    providers: ProviderSpec = "auto",
    threads: int | None = None,
    allow_spinning: bool = True,
) -> ort.InferenceSession:
    """Create an inference session.

    Parameters
    ----------
    model
        Path to an ``.onnx`` file, or the serialised model bytes.
    providers
        See :func:`resolve_providers`.
    threads
        Intra-op threads; ``None`` lets onnxruntime use one per physical core.
    allow_spinning
        Let idle worker threads spin for new work (onnxruntime's default). Turn it off on a
        machine shared with other busy processes: spinning threads then steal their cores.

    Raises
    ------
    ModelError
        If the file is missing or onnxruntime cannot load it.
    """
    if threads is not None and threads < 1:
        raise ConfigurationError(f"threads must be >= 1, got {threads}")
    chosen = resolve_providers(providers)
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not allow_spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source: Any = model
    if not isinstance(model, bytes):
        path = Path(model)
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        source = str(path)
    try:
        return ort.InferenceSession(source, sess_options=options, providers=chosen)
    except Exception as exc:  # onnxruntime raises several unrelated types
        raise ModelError(f"onnxruntime could not load the model: {exc}") from exc


@functools.cache
def max_supported_opset() -> int:
    """Highest default-domain opset both this ``onnx`` and this onnxruntime accept.

    onnxruntime has no call that reports it, so a one-node model is loaded at each opset from
    the ``onnx`` package's newest down until onnxruntime accepts one (a millisecond each).
    """
    newest = int(onnx.defs.onnx_opset_version())
    for opset in range(newest, 0, -1):
        if _onnxruntime_loads_opset(opset):
            return opset
    return newest  # not reached with a working onnxruntime


def _onnxruntime_loads_opset(opset: int) -> bool:
    h = onnx.helper
    value = [h.make_tensor_value_info(n, onnx.TensorProto.FLOAT, [1]) for n in ("x", "y")]
    graph = h.make_graph([h.make_node("Identity", ["x"], ["y"])], "probe", value[:1], value[1:])
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 8)
    try:
        ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception:  # onnxruntime raises its own unrelated types for an unknown opset
        return False
    return True


def check_opset(opset: int, minimum: int) -> int:
    """Check an ONNX opset for a converter before it writes anything; returns it as an int.

    Raises
    ------
    ConfigurationError
        If ``opset`` is not an integer or is below ``minimum`` (what the converter emits
        needs).
    ModelError
        If ``opset`` is above what the installed ``onnx`` and onnxruntime support: the model
        would be written and then refused by onnxruntime.
    """
    try:
        value = operator.index(opset)
    except TypeError as exc:
        raise ConfigurationError(f"opset must be an integer, got {opset!r}") from exc
    if value < minimum:
        raise ConfigurationError(f"opset must be >= {minimum}, got {value}")
    newest = max_supported_opset()
    if value > newest:
        raise ModelError(
            f"opset {value} is not supported: the newest this onnx {onnx.__version__} and "
            f"onnxruntime {ort.__version__} both load is {newest}"
        )
    return value


def model_metadata(session: ort.InferenceSession) -> dict[str, str]:
    """The model's custom metadata (``metadata_props``) as a dict."""
    return dict(session.get_modelmeta().custom_metadata_map)


__all__ = [
    "PREFERRED_PROVIDERS",
    "available_providers",
    "check_opset",
    "create_session",
    "max_supported_opset",
    "model_metadata",
    "resolve_providers",
]
