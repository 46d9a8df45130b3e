"""Student models as data: described in the worker, rebuilt and checked here.

The worker runs :func:`grader.sandboxed.models.describe.describe_model` on the student's model
and sends back a list of layers; the trusted side validates it against the whitelist in
:mod:`grader.sandboxed.models.layers`, rebuilds the model with
:func:`grader.models.rebuild.rebuild` and grades the rebuilt copy
(:mod:`grader.models.constraints`), so no student code runs here. Every module of this
package is trusted: the worker never imports one.
"""
