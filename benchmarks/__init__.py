"""Benchmarks and data tooling for FaceApp's fixed protocols (never run in CI; they take a data path)."""
