"""Example programs shipped with graphc (``graphc demo`` runs ``linear_regression``).

They are written as user code would be, and the tracer treats them as such: the source locations in
their IR point into these files, not at the caller.
"""
