"""bnncc: compile trained binary neural networks (ONNX) into verified C for microcontrollers."""

__version__ = "0.1.0"
