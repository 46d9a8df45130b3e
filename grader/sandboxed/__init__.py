"""The code that runs in the worker, next to student code.

Everything the worker process imports from the grader lives here: the server that answers
the trusted side, the wire it speaks, the limits and lock-down it applies to itself, the
describers that turn student objects into data, and the reading of the hand-in's source.
A student's code can read every one of these modules and patch it, so nothing here may
import a trusted module (the reference, the tests, rebuilding or training models, the
checks, the runner, the packs): ``tests/engine/test_trust_boundary.py`` holds this package's
import closure to itself.

The line runs one way only. The trusted side imports some modules from here, on purpose:
the wire both ends speak, the :class:`~grader.sandboxed.limits.Limits` it hands the worker,
the layer whitelist it rebuilds against. Importing them there is harmless, as they hold no
answers and act only on what they are given; keeping one copy means the two sides cannot
drift apart.
"""
