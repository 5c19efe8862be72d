"""Per-track voting with a real (test-built) ONNX model on synthetic frames of coloured people."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from tests.analytics.classify.colour_model import BLUE, RED, build_colour_model
from vtrack.analytics.classify.base import AttributeModel, AttributeScores
from vtrack.analytics.classify.onnx_model import OnnxAttributeModel
from vtrack.analytics.classify.voter import AttributeVoter
from vtrack.analytics.types import Attributes, Image, Track

Box = tuple[float, float, float, float]


class Recorded:
    """The real model, with a log of the batch sizes it was asked for."""

    def __init__(self, model: AttributeModel) -> None:
        self.model = model
        self.batches: list[int] = []

    def predict(self, crops: Sequence[Image]) -> list[AttributeScores]:
        self.batches.append(len(crops))
        return self.model.predict(crops)


@pytest.fixture(scope="module")
def colour_model(tmp_path_factory: pytest.TempPathFactory) -> OnnxAttributeModel:
    return OnnxAttributeModel(build_colour_model(tmp_path_factory.mktemp("voter") / "m.onnx"))


def frame(people: Sequence[tuple[Box, tuple[int, int, int]]]) -> Image:
    image = np.full((480, 640, 3), 128, np.uint8)
    for (x1, y1, x2, y2), colour in people:
        image[int(y1) : int(y2), int(x1) : int(x2)] = colour
    return image


def track(track_id: int, box: Box, score: float = 0.9, confirmed: bool = True) -> Track:
    return Track(track_id, box, score, confirmed, 10)


def test_red_people_vote_male_blue_female_and_voting_stops(colour_model: OnnxAttributeModel) -> None:
    model = Recorded(colour_model)
    voter = AttributeVoter(model, votes=3, interval_frames=4)
    for i in range(40):
        red_box = (100.0 + i, 100.0, 160.0 + i, 300.0)
        blue_box = (400.0 - i, 150.0, 450.0 - i, 330.0)
        image = frame([(red_box, RED), (blue_box, BLUE)])
        voter.observe(image, [track(1, red_box), track(2, blue_box)], frame_index=i)
        if i == 3:
            assert voter.attributes(1).votes == 1  # the first vote is due after one interval
    # Both tracks vote on the same frames, in one batch each time, and stop after three votes.
    assert model.batches == [2, 2, 2]
    male, female = voter.attributes(1), voter.attributes(2)
    assert (male.gender, male.votes) == ("male", 3) and male.gender_confidence > 0.99
    assert (female.gender, female.votes) == ("female", 3) and female.gender_confidence > 0.99
    assert male.age == pytest.approx(10.0 + 80.0 * 60 / 255, abs=0.01)
    assert voter.finish(1) == male
    assert voter.attributes(1) == Attributes()  # forgotten


def test_the_best_crop_of_the_interval_is_the_one_classified(colour_model: OnnxAttributeModel) -> None:
    voter = AttributeVoter(colour_model, votes=1, interval_frames=5)
    for i in range(5):
        # Small blue boxes, except one tall red one in the middle of the interval.
        box, colour = ((200.0, 50.0, 260.0, 350.0), RED) if i == 2 else ((200.0, 200.0, 240.0, 260.0), BLUE)
        voter.observe(frame([(box, colour)]), [track(1, box)], frame_index=10 + i)
    assert voter.attributes(1).gender == "male"


def test_votes_are_weighted_by_crop_quality(colour_model: OnnxAttributeModel) -> None:
    voter = AttributeVoter(colour_model, votes=2, interval_frames=1)
    tall: Box = (100.0, 50.0, 180.0, 350.0)  # 300 px at score 0.9
    short: Box = (100.0, 100.0, 140.0, 150.0)  # 50 px at score 0.5, and cut by nothing
    voter.observe(frame([(tall, RED)]), [track(1, tall, 0.9)], 0)
    voter.observe(frame([(short, BLUE)]), [track(1, short, 0.5)], 1)
    result = voter.attributes(1)
    assert result.votes == 2 and result.gender == "male"
    assert result.gender_confidence == pytest.approx(270 / (270 + 25), abs=0.01)


def test_crops_cut_by_the_border_count_less(colour_model: OnnxAttributeModel) -> None:
    voter = AttributeVoter(colour_model, votes=2, interval_frames=1)
    inside: Box = (100.0, 100.0, 160.0, 300.0)
    cut: Box = (0.0, 100.0, 60.0, 300.0)  # same size, touching the left edge
    voter.observe(frame([(inside, RED)]), [track(1, inside)], 0)
    voter.observe(frame([(cut, BLUE)]), [track(1, cut)], 1)
    assert voter.attributes(1).gender_confidence == pytest.approx(2 / 3, abs=0.01)


def test_small_and_unconfirmed_tracks_are_not_classified(colour_model: OnnxAttributeModel) -> None:
    model = Recorded(colour_model)
    voter = AttributeVoter(model, votes=2, interval_frames=1, min_height=40)
    small: Box = (10.0, 10.0, 40.0, 39.0)
    tall: Box = (300.0, 100.0, 350.0, 300.0)
    for i in range(5):
        image = frame([(small, RED), (tall, BLUE)])
        voter.observe(image, [track(1, small), track(2, tall, confirmed=False)], i)
    assert model.batches == []
    assert voter.attributes(1) == Attributes() and voter.attributes(2) == Attributes()


def test_a_short_track_gets_its_best_crop_classified_when_it_ends(colour_model: OnnxAttributeModel) -> None:
    model = Recorded(colour_model)
    voter = AttributeVoter(model, votes=5, interval_frames=10)
    box: Box = (100.0, 100.0, 150.0, 250.0)
    for i in range(3):
        voter.observe(frame([(box, BLUE)]), [track(4, box)], i)
    assert model.batches == [] and voter.attributes(4).votes == 0
    final = voter.finish(4)
    assert (final.gender, final.votes) == ("female", 1) and model.batches == [1]
    assert voter.finish(4) == Attributes()


def test_the_crop_survives_the_frame_buffer_being_reused(colour_model: OnnxAttributeModel) -> None:
    voter = AttributeVoter(colour_model, votes=1, interval_frames=3)
    box: Box = (100.0, 100.0, 150.0, 300.0)
    buffer = frame([(box, RED)])
    voter.observe(buffer, [track(1, box)], 0)  # best crop so far: red
    buffer[:] = 128  # the decoder overwrites the frame; the person is gone from later frames
    small: Box = (100.0, 250.0, 150.0, 300.0)
    voter.observe(buffer, [track(1, small)], 1)
    voter.observe(buffer, [track(1, small)], 2)
    assert voter.attributes(1).gender == "male"


def test_without_a_model_everything_is_unknown() -> None:
    voter = AttributeVoter(None)
    box: Box = (100.0, 100.0, 150.0, 300.0)
    for i in range(30):
        voter.observe(frame([(box, RED)]), [track(1, box)], i)
    assert voter.attributes(1) == Attributes() and voter.finish(1) == Attributes()
    assert Attributes().gender == "unknown"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        AttributeVoter(None, votes=0)
