"""Test-wide settings: the IR verifier is on for every trace and pass."""

import graphc.config

graphc.config.verify_ir = True
