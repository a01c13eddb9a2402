"""A job before it runs: output names, checks of every source and option, the chunk plans.

Everything here happens on the driver before anything is submitted, so a bad source, model or
output is a :class:`~deepsort_lib.errors.DeepSortError` with nothing written. No Ray.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deepsort_lib.distributed.planning import Chunk, plan_chunks
from deepsort_lib.errors import ConfigurationError

#: Options of ``deepsort track`` that change the tracks (the job key hashes them).
TRACK_KEYS: tuple[str, ...] = (
    "detector",
    "encoder",
    "classes",
    "min_score",
    "providers",
    "preset",
    "max_cosine_distance",
    "nn_budget",
    "max_iou_distance",
    "max_age",
    "n_init",
    "camera_motion",
    "gating_only_position",
    "detect_every",
    "max_frames",
)


@dataclass(frozen=True)
class JobPlan:
    """What :func:`check_job` found.

    Attributes
    ----------
    plans
        Each source's chunks (one chunk: the whole source).
    model_choices
        Each source's detector choice when its tracking needs models
        (:func:`~deepsort_lib.distributed.worker.model_choice`), else ``None``.
    """

    plans: list[list[Chunk]]
    model_choices: list[str | None]


def check_job(
    sources: Sequence[str],
    options: argparse.Namespace,
    outputs: Sequence[Path],
    chunk_frames: int | None,
    overlap: int,
) -> JobPlan:
    """Open every source and build its models here, before anything is submitted or written.

    Raises
    ------
    DeepSortError
        For a live source, a source that cannot be opened or chunked, a bad option or model,
        or an output that would replace an input.
    """
    from deepsort_lib.distributed.worker import model_choice
    from deepsort_lib.io.atomic import check_output_paths
    from deepsort_lib.io.video import open_source
    from deepsort_lib.run.build import build_pipeline
    from deepsort_lib.streams.sources import is_live

    plans: list[list[Chunk]] = []
    choices: list[str | None] = []
    inputs: dict[str, str | None] = {}
    built: set[tuple[type, bool]] = set()
    for i, spec in enumerate(sources):
        if is_live(spec):
            raise ConfigurationError(
                f"{spec}: a camera or stream URL cannot be tracked on a cluster (it is read "
                "where it is plugged in); track it with deepsort track without --ray"
            )
        with open_source(spec) as opened:
            kind = (type(opened), getattr(opened, "detections", None) is not None)
            if kind not in built:  # models are built once per kind of source, not per source
                build_pipeline(options, opened)  # any model or option error surfaces here
                built.add(kind)
            choices.append(model_choice(options, opened))
            declared = opened.num_frames
            if options.max_frames is not None and declared is not None:
                declared = min(declared, options.max_frames)
        inputs[f"SOURCE {i + 1}"] = spec
        if chunk_frames is None:
            plans.append([Chunk(0, 1, declared or 1, 1)])
            continue
        if not declared:
            raise ConfigurationError(f"{spec}: its frame count is unknown, so it cannot be chunked")
        plans.append(plan_chunks(declared, chunk_frames, overlap, align=options.detect_every))
    for flag in ("detector", "encoder"):
        value = getattr(options, flag)
        if value is not None and Path(value).is_file():
            inputs[f"--{flag}"] = value
    check_output_paths({f"output of {s}": p for s, p in zip(sources, outputs, strict=True)}, inputs)
    return JobPlan(plans, choices)


def feature_frames(plan: Sequence[Chunk], k: int) -> tuple[tuple[int, int], ...]:
    """The shared frames of chunk ``k`` with its neighbours (whose features stitching uses)."""
    spans = []
    if k > 0:
        spans.append((plan[k].start, plan[k - 1].stop))
    if k + 1 < len(plan):
        spans.append((plan[k + 1].start, plan[k].stop))
    return tuple(spans)


__all__ = ["TRACK_KEYS", "JobPlan", "check_job", "feature_frames"]
