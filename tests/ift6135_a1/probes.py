"""Probes for `grader audit`: what the hand-in computes on fixed inputs, compared between the
reference and each surviving mutant. Same outputs on all of them make a mutant equivalent.

Each probe calls the student's code directly (no stand-ins), on small generated data with
the kinds of values the handout's code sees: random floats (never exactly 0), probabilities
inside (0, 1), the real training loop on a set that does not split into whole minibatches.
"""

from __future__ import annotations

import numpy as np

HIDDEN = (8, 6)


def _data(seed: int = 0, d: int = 10, k: int = 4, n: int = 70) -> tuple:
    rng = np.random.default_rng(seed)

    def split() -> tuple:
        return rng.random((n, d)), np.eye(k)[rng.integers(0, k, n)]

    return split(), split(), split()


def _net(student, **kwargs):
    settings = {"hidden_dims": HIDDEN, "lr": 0.05, "batch_size": 16, "seed": 0,
                "data": _data()} | kwargs
    net = student.NN(**settings)
    net.initialize_weights([10, 4])  # (input, output): the hidden sizes are the net's
    return net


def probe_initialization(student):
    """the weights initialize_weights draws, for each scheme"""
    return {scheme: _net(student, init_method=scheme).weights
            for scheme in ("glorot", "normal", "zero")}


def probe_activations(student):
    x = np.random.default_rng(1).normal(size=(5, 7))
    net = _net(student)
    return {name: [getattr(net, name)(x), getattr(net, name)(x, grad=True)]
            for name in ("relu", "sigmoid", "tanh")}


def probe_softmax(student):
    rng = np.random.default_rng(2)
    return [_net(student).softmax(rng.normal(scale=s, size=(6, 4))) for s in (1.0, 30.0)]


def probe_forward_backward_update(student):
    net = _net(student)
    (x, y), _, _ = _data(3)
    cache = net.forward(x[:9])
    grads = net.backward(cache, y[:9])
    net.update(grads)
    return {"cache": cache, "grads": grads, "weights": net.weights}


def probe_loss(student):
    rng = np.random.default_rng(4)
    p = rng.dirichlet(np.ones(4), size=8)
    labels = np.eye(4)[rng.integers(0, 4, 8)]
    return [_net(student).loss(p, labels), _net(student).compute_loss_and_accuracy(
        *_data(5)[0])]


def probe_train_and_evaluate(student):
    net = _net(student)
    logs = net.train_loop(2)
    return {"logs": logs, "weights": net.weights, "evaluate": net.evaluate()}
