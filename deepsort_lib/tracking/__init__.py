"""The tracking algorithm: arrays in, arrays out; no I/O, no OpenCV, no model runtime."""
