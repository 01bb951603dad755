"""Test-wide settings: the IR verifier is on for every trace and pass."""

import graphc.config

graphc.config.verify_ir = True

# Hypothesis profiles. No per-example deadline anywhere: the first example of a new shape pays for
# tracing and compiling. "ci" (set by .ci/run) runs fewer, derandomized examples so CI is fast and
# reproducible; choose one with HYPOTHESIS_PROFILE=name.
try:
    import os

    from hypothesis import settings

    settings.register_profile("dev", deadline=None)
    settings.register_profile("ci", deadline=None, max_examples=30, derandomize=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
except ImportError:  # hypothesis is in the test extra; tests that use it import it themselves
    pass
