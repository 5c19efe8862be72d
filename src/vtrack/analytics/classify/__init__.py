"""Gender and age per track: a model interface, ONNX Runtime and OpenVINO loaders, and per-track voting."""

from vtrack.analytics.classify.base import AttributeModel, AttributeScores, ClassifierConfig
from vtrack.analytics.classify.loader import load_attribute_model
from vtrack.analytics.classify.voter import AttributeVoter

__all__ = ["AttributeModel", "AttributeScores", "AttributeVoter", "ClassifierConfig", "load_attribute_model"]
