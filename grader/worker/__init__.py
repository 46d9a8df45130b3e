"""The trusted side's handle on the worker: start it in its sandbox, talk to it, stop it.

Nothing in this package runs in the worker; the code that does is :mod:`grader.sandboxed`.
"""
