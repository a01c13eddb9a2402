"""Appearance (re-identification) encoders on onnxruntime.

:class:`OnnxEncoder` turns detection boxes into L2-normalised feature rows: crops as the
original Deep SORT cut them (:mod:`deepsort_lib.models.crops`), the model's own preprocessing,
batched inference. How a model wants its input (crop size, BGR/RGB, NCHW/NHWC, mean/std) is
read, in this order of precedence, from the constructor's arguments, from the model's metadata
(keys ``deepsort_lib.reid.*``, :mod:`deepsort_lib.models.reid_metadata`, re-exported here), and
from the model's input shape.

Rows that cannot be encoded get an all-zero feature (never NaN): boxes whose crop is empty
(zero height, wholly outside the frame) and boxes excluded by ``mask``. A zero row has cosine
similarity 0 with every feature, i.e. cosine distance 1, beyond any usable matching threshold;
a tracker should treat zero-norm rows as "no appearance" and not store them in its gallery.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.errors import ConfigurationError, InvalidInputError, ModelError
from deepsort_lib.models.crops import encode_boxes
from deepsort_lib.models.files import save_model
from deepsort_lib.models.reid_metadata import (
    CHANNEL_ORDERS,
    ENCODER_PRESETS,
    LAYOUTS,
    LEGACY_META_INPUT_SIZE_HW,
    MARS_PRESET,
    META_CHANNEL_ORDER,
    META_FEATURE_DIM,
    META_INPUT_SIZE,
    META_LAYOUT,
    META_MEAN,
    META_PRESET,
    META_STD,
    OSNET_PRESET,
    EncoderPreset,
    meta_size,
    meta_triple,
    parse_choice,
    parse_size,
    parse_triple,
    reid_metadata,
    write_reid_metadata,
)
from deepsort_lib.models.runtime import ProviderSpec, create_session, model_metadata

_INPUT_TYPES: dict[str, Any] = {
    "tensor(uint8)": np.uint8,
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
}


def _sniff_layout(shape: Sequence[Any]) -> str | None:
    channels_last = shape[3] == 3
    channels_first = shape[1] == 3
    if channels_last != channels_first:
        return "NHWC" if channels_last else "NCHW"
    return None


class OnnxEncoder:
    """Batched re-ID encoder on any ONNX model with one image input and one feature output.

    Parameters
    ----------
    model_path
        ``.onnx`` file (or serialised bytes).
    input_size
        Crop ``(width, height)`` in pixels (or ``"WIDTHxHEIGHT"``). Default: metadata, else
        the model's static input shape.
    channel_order
        ``"BGR"`` or ``"RGB"`` as the model expects. Default: metadata, else ``"BGR"``.
    layout
        ``"NCHW"`` or ``"NHWC"``. Default: metadata, else whichever axis of the input shape
        is 3.
    mean, std
        Normalisation of float-input models, ``(pixel - mean) / std`` in 0-255 pixel units and
        the model's channel order. Default: metadata, else 0 and 1 (raw pixel values). Not
        allowed for uint8-input models, which normalise inside the graph.
    batch_size
        Crops per inference call. Models with a fixed batch dimension use that instead (the
        last batch is padded).
    providers, threads
        Passed to :func:`deepsort_lib.models.runtime.create_session`.

    Raises
    ------
    ModelError
        If the model cannot be loaded or its input cannot be interpreted.
    ConfigurationError
        If an argument is invalid or contradicts the model's static input shape.

    Notes
    -----
    The input dtype (uint8, float32 or float16) is the model's: uint8 models get the resized
    BGR/RGB pixels as they are. Output rows are L2-normalised float32; rows for boxes with an
    empty crop, or masked out, are all zeros.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | bytes,
        *,
        input_size: tuple[int, int] | str | None = None,
        channel_order: str | None = None,
        layout: str | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        batch_size: int = 32,
        providers: ProviderSpec = "auto",
        threads: int | None = None,
        feature_dim: int | None = None,
        preset: str | None = None,
    ) -> None:
        if int(batch_size) < 1:
            raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}")
        self.session = create_session(model_path, providers=providers, threads=threads)
        self.metadata = model_metadata(self.session)
        meta = self.metadata
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        _check_reid_io(self.session)
        node = inputs[0]
        self.input_name: str = node.name
        self.output_name: str = outputs[0].name
        if node.type not in _INPUT_TYPES:
            raise ModelError(f"unsupported input type {node.type}; use uint8, float or float16")
        self.input_dtype: Any = _INPUT_TYPES[node.type]
        shape = list(node.shape)
        if len(shape) != 4:
            raise ModelError(f"the model input must be 4-D (a batch of images), got {shape}")

        chosen_layout = layout or meta.get(META_LAYOUT) or _sniff_layout(shape)
        if chosen_layout is None:
            raise ModelError(f"cannot tell NCHW from NHWC in input shape {shape}; pass layout=")
        self.layout = parse_choice("layout", chosen_layout, LAYOUTS)
        spatial = shape[1:3] if self.layout == "NHWC" else shape[2:4]
        static = (
            (spatial[1], spatial[0]) if all(isinstance(d, int) and d > 0 for d in spatial) else None
        )  # (width, height)
        size = input_size if input_size is not None else (meta_size(meta) or static)
        if size is None:
            raise ModelError(f"the model input {shape} has no static size; pass input_size=")
        self.input_size = parse_size(size)
        if static is not None and self.input_size != static:
            raise ConfigurationError(
                f"input_size {self.input_size} contradicts the model's input shape {shape}"
            )
        self.channel_order = parse_choice(
            "channel_order", channel_order or meta.get(META_CHANNEL_ORDER, "BGR"), CHANNEL_ORDERS
        )

        mean = mean if mean is not None else meta_triple(meta, META_MEAN)
        std = std if std is not None else meta_triple(meta, META_STD)
        if self.input_dtype == np.uint8:
            if mean is not None or std is not None:
                raise ConfigurationError("mean/std apply to float inputs; this model takes uint8")
            self.mean = self.std = None
        else:
            self.mean = np.asarray(parse_triple("mean", 0.0 if mean is None else mean), np.float32)
            self.std = np.asarray(parse_triple("std", 1.0 if std is None else std), np.float32)
            if np.any(self.std < 1.0):
                raise ConfigurationError(
                    "std values below 1 look like 0-1 units; mean/std are in 0-255 pixel units "
                    "(multiply ImageNet values by 255)"
                )
        batch_dim = shape[0]
        fixed = isinstance(batch_dim, int) and batch_dim > 0
        self.fixed_batch: int | None = batch_dim if fixed else None
        self.batch_size = self.fixed_batch or int(batch_size)
        out_dim = outputs[0].shape[-1] if outputs[0].shape else None
        self._feature_dim: int | None = out_dim if isinstance(out_dim, int) else None
        self._expected_dim = feature_dim
        self.preset = preset

    @classmethod
    def from_preset(
        cls, name: str, model_path: str | os.PathLike[str] | bytes, **overrides: Any
    ) -> OnnxEncoder:
        """An encoder for a known model family (``"mars-small128"``, ``"osnet"``).

        The preset's preprocessing replaces the model's metadata; ``overrides`` (any
        constructor argument) replace the preset's values.

        Raises
        ------
        ConfigurationError
            If the preset is unknown.
        ModelError
            If the model's feature length is not the preset's.
        """
        if name not in ENCODER_PRESETS:
            known = sorted(ENCODER_PRESETS)
            raise ConfigurationError(f"unknown re-ID preset {name!r}; known: {known}")
        kwargs = {**ENCODER_PRESETS[name].as_kwargs(), **overrides}
        encoder = cls(model_path, **kwargs)
        if encoder.feature_dim != ENCODER_PRESETS[name].feature_dim:
            raise ModelError(
                f"preset {name!r} expects {ENCODER_PRESETS[name].feature_dim}-d features, "
                f"the model gives {encoder.feature_dim}"
            )
        return encoder

    @property
    def feature_dim(self) -> int:
        """Length of the feature rows (runs the model once if its output shape is dynamic)."""
        if self._feature_dim is None:
            w, h = self.input_size
            self._feature_dim = int(self._run(np.zeros((1, h, w, 3), np.uint8)).shape[1])
        return self._feature_dim

    def preprocess(self, crops: NDArray[np.uint8]) -> NDArray[Any]:
        """``(n, h, w, 3)`` uint8 BGR crops -> the model's input tensor."""
        x: NDArray[Any] = crops[..., ::-1] if self.channel_order == "RGB" else crops
        if self.mean is not None and self.std is not None:
            x = (x.astype(np.float32) - self.mean) / self.std
        if self.layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x, dtype=self.input_dtype)

    def _run(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        n = len(crops)
        batch = self.preprocess(crops)
        if self.fixed_batch is not None and n < self.fixed_batch:
            pad = np.zeros((self.fixed_batch - n, *batch.shape[1:]), batch.dtype)
            batch = np.concatenate([batch, pad])
        try:
            out = self.session.run([self.output_name], {self.input_name: batch})[0]
        except Exception as exc:  # onnxruntime raises several unrelated types
            raise ModelError(f"re-ID model failed on a batch of {n} crops: {exc}") from exc
        return np.asarray(out, np.float32).reshape(len(batch), -1)[:n]

    def encode_crops(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Features of ready-made ``(n, h, w, 3)`` uint8 BGR crops of the model's input size.

        Returns
        -------
        ndarray of float32, shape (n, D)
            L2-normalised rows.
        """
        crops = np.asarray(crops)
        w, h = self.input_size
        if crops.dtype != np.uint8 or crops.ndim != 4 or crops.shape[1:] != (h, w, 3):
            raise InvalidInputError(f"crops must be (n, {h}, {w}, 3) uint8, got {crops.shape}")
        if len(crops) == 0:
            return np.zeros((0, self.feature_dim), np.float32)
        step = self.batch_size
        parts = [self._run(crops[i : i + step]) for i in range(0, len(crops), step)]
        features = np.concatenate(parts)
        if self._expected_dim is not None and features.shape[1] != self._expected_dim:
            raise ModelError(
                f"the model gives {features.shape[1]}-d features, expected {self._expected_dim}"
            )
        if not np.all(np.isfinite(features)):
            raise ModelError("the re-ID model produced NaN or infinite features")
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        normalised: NDArray[np.float32] = (features / np.maximum(norms, 1e-12)).astype(np.float32)
        return normalised

    def encode(
        self,
        frame: NDArray[np.uint8],
        tlwh: ArrayLike,
        mask: ArrayLike | None = None,
    ) -> NDArray[np.float32]:
        """One L2-normalised feature per box (the :class:`~deepsort_lib.protocols.Encoder` API).

        Parameters
        ----------
        frame
            ``(H, W, 3)`` uint8 BGR image.
        tlwh
            ``(N, 4)`` boxes in pixels; may be empty.
        mask
            Optional ``(N,)`` booleans: only boxes where True are encoded.

        Returns
        -------
        ndarray of float32, shape (N, D)
            Unit rows; all-zero rows for masked-out boxes and boxes with an empty crop
            (zero height, wholly outside the frame).

        Raises
        ------
        InvalidInputError
            On a malformed frame, boxes or mask (checked before running the model).
        """
        return encode_boxes(self, frame, tlwh, self.input_size, mask)


def _check_reid_io(session: Any) -> None:
    """Refuse a model without one image input and ``(N, D)`` features out (a detector, say)."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    shape = outputs[0].shape if outputs else None
    # A rank unknown until run is let through: the rows are flattened then.
    features = bool(outputs) and (shape is None or all(d == 1 for d in shape[2:]))
    if len(inputs) == 1 and features:
        return

    def fmt(items: Any) -> str:
        return ", ".join(f"{i.name} {list(i.shape or [])}" for i in items)

    raise ModelError(
        "not a re-ID model: an encoder needs one image input and (N, D) features out, got "
        f"inputs [{fmt(inputs)}] and outputs [{fmt(outputs)}] (a detector model?)"
    )


__all__ = [
    "CHANNEL_ORDERS",
    "ENCODER_PRESETS",
    "LAYOUTS",
    "LEGACY_META_INPUT_SIZE_HW",
    "MARS_PRESET",
    "META_CHANNEL_ORDER",
    "META_FEATURE_DIM",
    "META_INPUT_SIZE",
    "META_LAYOUT",
    "META_MEAN",
    "META_PRESET",
    "META_STD",
    "OSNET_PRESET",
    "EncoderPreset",
    "OnnxEncoder",
    "reid_metadata",
    "save_model",
    "write_reid_metadata",
]
