"""Everything that runs a model: onnxruntime sessions, detectors and appearance encoders."""
