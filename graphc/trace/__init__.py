"""Tracing: tracers and NumPy dispatch, pytrees, the signature cache."""
