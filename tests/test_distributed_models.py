"""The served-models path of a tracking task, without Ray: a span whose detector and encoder
run in a :class:`ModelServer` (batches of frames in, detections out) gives the rows of the
task's own pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepsort_lib.boxes import Detections
from deepsort_lib.distributed.models import LocalModels, ModelServer, filter_detections
from deepsort_lib.distributed.worker import model_choice, track_span
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.io.video import open_source
from deepsort_lib.run.options import track_options
from tests.distributed_scenes import crowd_sequence, video_clip

VTEST = Path(__file__).resolve().parents[1] / "data" / "vtest.avi"


def _same(a: object, b: object) -> None:
    from deepsort_lib.distributed.results import ChunkTracks

    assert isinstance(a, ChunkTracks) and isinstance(b, ChunkTracks)
    np.testing.assert_array_equal(a.rows.as_array(), b.rows.as_array())
    if a.features is None or b.features is None:
        assert a.features is None and b.features is None
    else:
        np.testing.assert_array_equal(a.features, b.features)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "start", "stop", "batch"),
    [({}, 1, None, 3), ({"detect_every": 2, "min_score": 0.3}, 3, 9, 4)],
)
def test_served_span_equals_the_tasks_own_pipeline(
    tmp_path: Path, overrides: dict[str, object], start: int, stop: int | None, batch: int
) -> None:
    clip = video_clip(VTEST, tmp_path / "clip.avi", 9, skip=200)
    options = track_options(**overrides)
    models = LocalModels(ModelServer(options, ["hog"]))
    served = track_span(
        options, str(clip), start, stop, feature_frames=None, models=models, batch_frames=batch
    )
    own = track_span(options, str(clip), start, stop, feature_frames=None)
    assert len(own.rows) > 5  # people were found and tracked
    _same(served, own)
    # Frames went in batches; with detect_every only the detected frames travel.
    frames = 9 - start + 1
    every = int(overrides.get("detect_every", 1))  # type: ignore[call-overload]
    assert sum(models.batches) == len(range(0, frames, every))
    assert max(models.batches) <= batch and len(models.batches) > 1


def test_public_detections_are_only_encoded_and_need_no_model_with_features(
    tmp_path: Path,
) -> None:
    bare, _ = crowd_sequence(tmp_path / "bare", 30, seed=2, features=False)
    rich, _ = crowd_sequence(tmp_path / "rich", 30, seed=2)
    options = track_options(min_score=0.2)
    with open_source(str(bare)) as opened:
        assert model_choice(options, opened) == "public"
    with open_source(str(rich)) as opened:
        assert model_choice(options, opened) is None  # det.npy has the features
    models = LocalModels(ModelServer(options, ["public"]))
    served = track_span(options, str(bare), 5, 30, feature_frames=None, models=models)
    _same(served, track_span(options, str(bare), 5, 30, feature_frames=None))
    assert served.features is not None  # encoded by the server (blank images: zero rows)
    assert sum(models.batches) == 26
    models.batches.clear()
    _same(
        track_span(options, str(rich), 1, 30, models=models),
        track_span(options, str(rich), 1, 30),
    )
    assert models.batches == []  # nothing to serve: the task tracks on its own


def test_server_refuses_what_it_cannot_serve() -> None:
    options = track_options(encoder="none")
    server = ModelServer(options, ["public"])
    frame = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ConfigurationError, match="no detector 'hog'"):
        server.infer([frame], None, "hog")
    with pytest.raises(ConfigurationError, match="1 detection sets for 2 frames"):
        server.infer([frame, frame], [Detections.empty()], "public")
    dets = Detections.from_tlwh(np.array([[1.0, 1, 5, 5], [2, 2, 5, 5]]), np.array([0.9, 0.1]))
    assert len(filter_detections(dets, 0.5, None)) == 1
    assert filter_detections(dets, 0.0, None) is dets
    with pytest.raises(ConfigurationError, match="batch_frames"):
        track_span(options, "unused.avi", models=LocalModels(server), batch_frames=0)
