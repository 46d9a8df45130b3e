"""Student models turned into data, in the worker: the half of :mod:`grader.models` that runs
next to student code.

:mod:`describe` (PyTorch), :mod:`stax_describe` (JAX) and :mod:`keras_describe` read a
student's model into a list of layers; :mod:`layers` is the whitelist both sides read, the
describers to refuse what cannot be rebuilt and the trusted side to validate what arrives.
"""
