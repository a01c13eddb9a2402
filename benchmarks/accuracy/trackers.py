"""The trackers of the accuracy benchmark: a registry of named factories.

Every entry builds a fresh *runner*: ``step(detections) -> (K, 5)`` array of
``track_id, x, y, w, h`` rows, the tracker's output for that frame under the stated
*output rule*. Runners receive exactly the same :class:`deepsort_lib.boxes.Detections`
(boxes, scores, unit features) and convert them to the peer's input format inside ``step``,
so the conversion is part of the measured time (it is what a user of that library pays too).

To add a tracker (e.g. a new preset of ours), add one entry to :data:`REGISTRY` with
:func:`register`; every entry of ``deepsort_lib.tracking.tracker.PRESETS`` is registered
automatically as ``deepsort_lib <preset>``.

Peers are imported lazily: a peer that is not installed raises ``ImportError`` naming
``scripts/setup_peers.sh`` only when it is actually run.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import Detections

Rows = NDArray[np.float64]

#: Image size of both TUD sequences (width, height); BoxMOT wants a frame of this size.
IMAGE_SIZE = (640, 480)


class Runner(Protocol):
    def step(self, detections: Detections) -> Rows: ...


@dataclass(frozen=True)
class TrackerSpec:
    """One tracker configuration of the benchmark.

    Attributes
    ----------
    name
        Row label in the results table.
    factory
        Builds a fresh runner (new tracker state) for one sequence.
    package
        Distribution whose version is reported (``deepsort_lib`` for ours).
    output_rule
        Which tracks and which box the tracker reports per frame (stated in the table).
    uses_appearance
        Whether the features reach the tracker; trackers that ignore them are run once per
        seed and their numbers reused for every feature-noise level of the sweep.
    settings
        The non-default parameters, for the docs.
    """

    name: str
    factory: Callable[[], Runner]
    package: str
    output_rule: str
    uses_appearance: bool
    settings: str = "library defaults"


REGISTRY: dict[str, TrackerSpec] = {}


def register(spec: TrackerSpec) -> TrackerSpec:
    """Add ``spec`` to :data:`REGISTRY` (replacing an entry of the same name)."""
    REGISTRY[spec.name] = spec
    return spec


def package_version(package: str) -> str:
    """Installed version of ``package`` or ``"not installed"``."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _peer_import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"peer tracker module {module!r} is not installed ({exc}); run "
            "scripts/setup_peers.sh and use .venv-peers/bin/python"
        ) from exc


def _rows(ids: Any, tlwh: Any) -> Rows:
    ids = np.asarray(ids, dtype=np.float64).reshape(-1, 1)
    return np.hstack([ids, np.asarray(tlwh, dtype=np.float64).reshape(-1, 4)])


def _xyxy_to_tlwh(xyxy: Any) -> Rows:
    b = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    return np.column_stack([b[:, :2], b[:, 2:] - b[:, :2]])


# --------------------------------------------------------------------------------------------
# Ours


def _our_presets() -> tuple[str, ...]:
    """Every preset of our tracker (``original`` first); new presets join automatically."""
    from deepsort_lib.tracking.tracker import PRESETS

    return ("original", *sorted(set(PRESETS) - {"original"}))


class _OursRunner:
    """``deepsort_lib.tracking.tracker.Tracker``; output: tracks returned by ``update``."""

    def __init__(self, preset: str, box: str = "tlwh", **overrides: Any) -> None:
        from deepsort_lib.tracking.tracker import Tracker

        self.tracker = Tracker.from_preset(preset, **overrides)
        self.box = box  # "tlwh" (Kalman) or "detection_tlwh" (the matched detection)

    def step(self, detections: Detections) -> Rows:
        tracks = self.tracker.update(detections)
        if not tracks:
            return np.zeros((0, 5))
        rows = _rows([t.track_id for t in tracks], [getattr(t, self.box) for t in tracks])
        # A track coasting for long without ``freeze_lost_size`` can extrapolate its size below
        # zero; such a box is scored as a zero-size box (it matches nothing), as for norfair.
        rows[:, 3:] = np.maximum(rows[:, 3:], 0.0)
        return rows


def _output_rule(preset: str) -> str:
    from deepsort_lib.tracking.tracker import PRESETS, TrackerConfig

    misses = TrackerConfig(**PRESETS[preset]).output_max_misses
    if misses == 0:
        return "confirmed tracks matched this frame, Kalman box"
    return f"confirmed tracks with time_since_update <= {misses}, Kalman box"


def _register_ours() -> None:
    for preset in _our_presets():
        register(
            TrackerSpec(
                name=f"deepsort_lib {preset}",
                factory=lambda preset=preset: _OursRunner(preset),  # type: ignore[misc]
                package="deepsort_lib",
                output_rule=_output_rule(preset),
                uses_appearance=True,
                settings=f"Tracker.from_preset({preset!r})",
            )
        )
        if preset == "original":
            register(
                TrackerSpec(
                    name="deepsort_lib original (app rule)",
                    factory=lambda: _OursRunner("original", output_max_misses=1),
                    package="deepsort_lib",
                    output_rule="deep_sort_app rule: confirmed tracks with time_since_update "
                    "<= 1 (a track missed this frame is reported at its prediction), Kalman box",
                    uses_appearance=True,
                    settings="Tracker.from_preset('original', output_max_misses=1)",
                )
            )


# --------------------------------------------------------------------------------------------
# deep-sort-realtime (the original Deep SORT, packaged)


class _DeepSortRealtimeRunner:
    def __init__(self, app_rule: bool, max_cosine_distance: float = 0.2) -> None:
        mod = _peer_import("deep_sort_realtime.deepsort_tracker")
        # Paper settings; embedder=None: the features are given with each update.
        self.tracker = mod.DeepSort(
            max_age=30,
            n_init=3,
            max_cosine_distance=max_cosine_distance,
            nn_budget=100,
            max_iou_distance=0.7,
            embedder=None,
        )
        self.app_rule = app_rule

    def step(self, detections: Detections) -> Rows:
        raw = [
            (box.tolist(), float(s), 0)
            for box, s in zip(detections.tlwh, detections.scores, strict=True)
        ]
        embeds = list(detections.features) if detections.features is not None else None
        tracks = self.tracker.update_tracks(raw, embeds=embeds)
        max_tsu = 1 if self.app_rule else 0
        keep = [t for t in tracks if t.is_confirmed() and t.time_since_update <= max_tsu]
        if not keep:
            return np.zeros((0, 5))
        return _rows([int(t.track_id) for t in keep], [t.to_ltwh(orig=False) for t in keep])


# --------------------------------------------------------------------------------------------
# norfair


class _NorfairRunner:
    def __init__(self) -> None:
        self.nf = _peer_import("norfair")
        # IoU distance on the two box corners; threshold 0.7 = the IoU gate (0.3) of SORT.
        self.tracker = self.nf.Tracker(distance_function="iou", distance_threshold=0.7)

    def step(self, detections: Detections) -> Rows:
        xyxy = detections.xyxy
        dets = [
            self.nf.Detection(points=b.reshape(2, 2), scores=np.array([s, s]))
            for b, s in zip(xyxy, detections.scores, strict=True)
        ]
        objs = self.tracker.update(detections=dets)
        if not objs:
            return np.zeros((0, 5))
        est = _xyxy_to_tlwh(np.array([o.estimate.reshape(4) for o in objs]))
        # Norfair filters the two corners independently: a young track can cross them.
        est[:, 2:] = np.maximum(est[:, 2:], 0.0)
        return _rows([o.id for o in objs], est)


# --------------------------------------------------------------------------------------------
# supervision ByteTrack and roboflow `trackers` (both take supervision.Detections)


def _sv_detections(detections: Detections) -> Any:
    sv = _peer_import("supervision")
    return sv.Detections(
        xyxy=detections.xyxy.astype(np.float32),
        confidence=detections.scores.astype(np.float32),
        class_id=np.zeros(len(detections), dtype=int),
    )


class _SupervisionByteTrackRunner:
    def __init__(self) -> None:
        import warnings

        sv = _peer_import("supervision")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # deprecated in 0.28, gone in 0.31
            self.tracker = sv.ByteTrack()

    def step(self, detections: Detections) -> Rows:
        out = self.tracker.update_with_detections(_sv_detections(detections))
        keep = out.tracker_id >= 0 if out.tracker_id is not None else np.zeros(0, bool)
        return _rows(out.tracker_id[keep], _xyxy_to_tlwh(out.xyxy[keep]))


class _RoboflowTrackersRunner:
    def __init__(self, cls_name: str, **kwargs: Any) -> None:
        trackers = _peer_import("trackers")
        self.tracker = getattr(trackers, cls_name)(**kwargs)

    def step(self, detections: Detections) -> Rows:
        out = self.tracker.update(_sv_detections(detections))
        if out.tracker_id is None or len(out) == 0:
            return np.zeros((0, 5))
        keep = out.tracker_id >= 0
        return _rows(out.tracker_id[keep], _xyxy_to_tlwh(out.xyxy[keep]))


# --------------------------------------------------------------------------------------------
# BoxMOT (StrongSORT, BoT-SORT) with precomputed embeddings


class _BoxmotRunner:
    def __init__(self, cls_name: str) -> None:
        self.torch = _peer_import("torch")
        boxmot = _peer_import("boxmot")
        self.structs = _peer_import("boxmot.structures.detections")
        self.geometry = _peer_import("boxmot.structures.geometry")
        if cls_name == "StrongSort":
            self.tracker = boxmot.StrongSort(reid_model=None)
            # StrongSort hard-wires ECC camera-motion compensation; our cameras are static and
            # there are no images (a black frame would only cost time), so it is switched off.
            self.tracker.cmc = None
        else:
            self.tracker = boxmot.BotSort(reid_model=None, use_cmc=False)
        self.frame = np.zeros((IMAGE_SIZE[1], IMAGE_SIZE[0], 3), dtype=np.uint8)
        self.count = 0

    def step(self, detections: Detections) -> Rows:
        torch = self.torch
        self.count += 1
        feats = detections.features
        dim = feats.shape[1] if feats is not None else 128
        dets = self.structs.Detections(
            geometry=self.geometry.Boxes(torch.from_numpy(detections.xyxy.astype(np.float32))),
            scores=torch.from_numpy(np.clip(detections.scores, 0.0, 1.0).astype(np.float32)),
            class_ids=torch.zeros(len(detections), dtype=torch.int64),
            sample_id=f"frame{self.count}",
            embeddings=torch.from_numpy(
                np.array(feats, dtype=np.float32)  # a writable copy, as torch wants
                if feats is not None
                else np.zeros((0, dim), np.float32)
            ),
        )
        out = self.tracker.update(dets, self.frame)
        if len(out.track_ids) == 0:
            return np.zeros((0, 5))
        return _rows(out.track_ids.numpy(), _xyxy_to_tlwh(out.geometry.values.numpy()))


# --------------------------------------------------------------------------------------------
# The registry

_register_ours()
register(
    TrackerSpec(
        "deep-sort-realtime",
        lambda: _DeepSortRealtimeRunner(app_rule=False),
        "deep-sort-realtime",
        "confirmed tracks matched this frame (time_since_update = 0), Kalman box",
        True,
        "max_cosine_distance=0.2, nn_budget=100, max_age=30, n_init=3, max_iou_distance=0.7",
    )
)
register(
    TrackerSpec(
        "deep-sort-realtime (app rule)",
        lambda: _DeepSortRealtimeRunner(app_rule=True),
        "deep-sort-realtime",
        "original deep_sort_app rule: confirmed tracks with time_since_update <= 1 "
        "(a track lost this frame is still reported, predicted), Kalman box",
        True,
        "as above",
    )
)
register(
    TrackerSpec(
        "deep-sort-realtime (app rule, cosine 0.3)",
        lambda: _DeepSortRealtimeRunner(app_rule=True, max_cosine_distance=0.3),
        "deep-sort-realtime",
        "original deep_sort_app rule (time_since_update <= 1), Kalman box",
        True,
        "the original hand-tuned: max_cosine_distance=0.3, otherwise as above",
    )
)
register(
    TrackerSpec(
        "norfair",
        _NorfairRunner,
        "norfair",
        "every initialised object still alive, coasting ones included, Kalman estimate",
        False,
        "distance_function='iou', distance_threshold=0.7; IoU only (no re-ID)",
    )
)
register(
    TrackerSpec(
        "supervision ByteTrack",
        _SupervisionByteTrackRunner,
        "supervision",
        "detections assigned to an activated track this frame, detector box",
        False,
    )
)
for _cls, _label, _kw, _settings in (
    ("SORTTracker", "trackers SORT", {}, "library defaults"),
    ("ByteTrackTracker", "trackers ByteTrack", {}, "library defaults"),
    ("OCSORTTracker", "trackers OC-SORT", {}, "library defaults"),
    (
        "BoTSORTTracker",
        "trackers BoT-SORT",
        {"enable_cmc": False},
        "enable_cmc=False (static cameras, no images); no re-ID (the package has none)",
    ),
):
    register(
        TrackerSpec(
            _label,
            lambda _cls=_cls, _kw=_kw: _RoboflowTrackersRunner(_cls, **_kw),  # type: ignore[misc]
            "trackers",
            "detections assigned to a confirmed track this frame (tracker_id >= 0), detector box",
            False,
            _settings,
        )
    )
register(
    TrackerSpec(
        "BoxMOT StrongSORT",
        lambda: _BoxmotRunner("StrongSort"),
        "boxmot",
        "confirmed tracks matched this frame, Kalman box",
        True,
        "defaults (max_cos_dist=0.2, ema_alpha=0.9, mc_lambda=0.98); ECC CMC off; "
        "precomputed embeddings",
    )
)
register(
    TrackerSpec(
        "BoxMOT BoT-SORT",
        lambda: _BoxmotRunner("BotSort"),
        "boxmot",
        "activated tracks matched this frame, Kalman box",
        True,
        "defaults, use_cmc=False; precomputed embeddings",
    )
)
