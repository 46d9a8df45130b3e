# expect: full-marks
# variety: module-level constants (EPS, ACTIVATIONS, INIT_METHODS) and helpers (a function and a small static class) used inside NN
from __future__ import annotations

import gzip
import math
import pickle
from typing import Dict

import numpy as np

EPS = 1e-12
ACTIVATIONS = ("relu", "sigmoid", "tanh")
INIT_METHODS = ("zero", "normal", "glorot")


def one_hot(y, n_classes=10):
    return np.eye(n_classes)[y]


def load_mnist():
    data_file = gzip.open("mnist.pkl.gz", "rb")
    train_data, val_data, test_data = pickle.load(data_file, encoding="latin1")
    data_file.close()

    train_inputs = [np.reshape(x, (784, 1)) for x in train_data[0]]
    train_results = [one_hot(y, 10) for y in train_data[1]]
    train_data = np.array(train_inputs).reshape(-1, 784), np.array(train_results).reshape(-1, 10)

    val_inputs = [np.reshape(x, (784, 1)) for x in val_data[0]]
    val_results = [one_hot(y, 10) for y in val_data[1]]
    val_data = np.array(val_inputs).reshape(-1, 784), np.array(val_results).reshape(-1, 10)

    test_inputs = [np.reshape(x, (784, 1)) for x in test_data[0]]
    test_results = [one_hot(y, 10) for y in test_data[1]]
    test_data = np.array(test_inputs).reshape(-1, 784), np.array(test_results).reshape(-1, 10)

    return train_data, val_data, test_data


def glorot_bound(fan_in: int, fan_out: int) -> float:
    """Half-width d of the Glorot uniform distribution U(-d, d)."""
    return math.sqrt(6.0 / (fan_in + fan_out))


def layer_keys(n_layers: int):
    """Yield (index, weight key, bias key) for layers 1..n_layers."""
    for i in range(1, n_layers + 1):
        yield i, f"W{i}", f"b{i}"


class Act:
    """Elementwise nonlinearities and their derivatives."""

    @staticmethod
    def relu(x):
        return np.maximum(x, 0)

    @staticmethod
    def relu_prime(x):
        return (np.asarray(x) > 0) * 1.0

    @staticmethod
    def sigmoid(x):
        x = np.asarray(x, dtype=float)
        z = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))

    @staticmethod
    def sigmoid_prime(x):
        s = Act.sigmoid(x)
        return s * (1.0 - s)


class NN(object):
    def __init__(self,
                 hidden_dims=(784, 256),
                 epsilon=1e-6,
                 lr=7e-4,
                 batch_size=64,
                 seed=None,
                 activation="relu",
                 init_method="glorot",
                 data=None
                 ):

        self.hidden_dims = hidden_dims
        self.n_hidden = len(hidden_dims)
        self.lr = lr
        self.batch_size = batch_size
        self.init_method = init_method
        self.seed = seed
        self.activation_str = activation
        self.epsilon = epsilon

        self.train_logs = {'train_accuracy': [], 'validation_accuracy': [], 'train_loss': [], 'validation_loss': []}

        if data is None:
            # for testing, do NOT remove or modify
            self.train, self.valid, self.test = (
                (np.random.rand(400, 784), one_hot(np.random.randint(0, 10, 400))),
                (np.random.rand(400, 784), one_hot(np.random.randint(0, 10, 400))),
                (np.random.rand(400, 784), one_hot(np.random.randint(0, 10, 400)))
            )
        else:
            self.train, self.valid, self.test = data

    def initialize_weights(self, dims):
        if self.seed is not None:
            np.random.seed(self.seed)

        self.weights: Dict[str, np.ndarray] = {}
        # self.weights is a dictionnary with keys W1, b1, W2, b2, ..., Wm, Bm where m - 1 is the number of hidden layers
        all_dims = [dims[0]] + list(self.hidden_dims) + [dims[1]]
        if self.init_method not in INIT_METHODS:
            raise ValueError(f"init_method must be one of {INIT_METHODS}")
        for i, w_key, b_key in layer_keys(self.n_hidden + 1):
            shape = (all_dims[i - 1], all_dims[i])
            if self.init_method == "zero":
                self.weights[w_key] = np.zeros(shape)
            elif self.init_method == "normal":
                self.weights[w_key] = np.random.randn(*shape)
            else:
                d = glorot_bound(*shape)
                self.weights[w_key] = np.random.uniform(-d, d, shape)
            self.weights[b_key] = np.zeros((1, shape[1]))

    def relu(self, x, grad=False):
        return Act.relu_prime(x) if grad else Act.relu(x)

    def sigmoid(self, x, grad=False):
        return Act.sigmoid_prime(x) if grad else Act.sigmoid(x)

    def tanh(self, x, grad=False):
        if grad:
            return 1.0 - np.square(np.tanh(x))
        return np.tanh(x)

    def activation(self, x, grad=False):
        if self.activation_str not in ACTIVATIONS:
            raise Exception("invalid")
        return getattr(self, self.activation_str)(x, grad=grad)

    def softmax(self, x):
        # Remember that softmax(x-C) = softmax(x) when C is a constant.
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        return e / (np.sum(e, axis=-1, keepdims=True) + EPS)

    def forward(self, x):
        cache = {"Z0": x}
        # cache is a dictionnary with keys Z0, A0, ..., Zm, Am where m - 1 is the number of hidden layers
        # Ai corresponds to the preactivation at layer i, Zi corresponds to the activation at layer i
        m = self.n_hidden + 1
        for i, w_key, b_key in layer_keys(m):
            cache[f"A{i}"] = cache[f"Z{i - 1}"].dot(self.weights[w_key]) + self.weights[b_key]
            cache[f"Z{i}"] = self.activation(cache[f"A{i}"]) if i < m else self.softmax(cache[f"A{i}"])
        return cache

    def backward(self, cache, labels):
        output = cache[f"Z{self.n_hidden + 1}"]
        grads = {}
        # grads is a dictionnary with keys dAm, dWm, dbm, dZ(m-1), dA(m-1), ..., dW1, db1
        m = self.n_hidden + 1
        grads[f"dA{m}"] = (output - labels) / labels.shape[0]
        for i, w_key, b_key in reversed(list(layer_keys(m))):
            dA = grads[f"dA{i}"]
            grads["d" + w_key] = cache[f"Z{i - 1}"].T.dot(dA)
            grads["d" + b_key] = dA.sum(axis=0, keepdims=True)
            if i > 1:
                grads[f"dZ{i - 1}"] = dA.dot(self.weights[w_key].T)
                grads[f"dA{i - 1}"] = grads[f"dZ{i - 1}"] * self.activation(cache[f"A{i - 1}"], grad=True)
        return grads

    def update(self, grads):
        for layer, w_key, b_key in layer_keys(self.n_hidden + 1):
            self.weights[w_key] = self.weights[w_key] - self.lr * grads["d" + w_key]
            self.weights[b_key] = self.weights[b_key] - self.lr * grads["d" + b_key]

    def loss(self, prediction, labels):
        prediction[np.where(prediction < self.epsilon)] = self.epsilon
        prediction[np.where(prediction > 1 - self.epsilon)] = 1 - self.epsilon
        per_example = -np.sum(labels * np.log(prediction + EPS), axis=1)
        return per_example.mean()

    def compute_loss_and_accuracy(self, X, y):
        one_y = y
        y = np.argmax(y, axis=1)  # Change y to integers
        cache = self.forward(X)
        predictions = np.argmax(cache[f"Z{self.n_hidden + 1}"], axis=1)
        accuracy = np.mean(y == predictions)
        loss = self.loss(cache[f"Z{self.n_hidden + 1}"], one_y)
        return loss, accuracy, predictions

    def train_loop(self, n_epochs):
        X_train, y_train = self.train
        y_onehot = y_train
        dims = [X_train.shape[1], y_onehot.shape[1]]
        self.initialize_weights(dims)

        n_batches = int(np.ceil(X_train.shape[0] / self.batch_size))

        for epoch in range(n_epochs):
            for batch in range(n_batches):
                minibatchX = X_train[self.batch_size * batch:self.batch_size * (batch + 1), :]
                minibatchY = y_onehot[self.batch_size * batch:self.batch_size * (batch + 1), :]
                cache = self.forward(minibatchX)
                grads = self.backward(cache, minibatchY)
                self.update(grads)

            X_train, y_train = self.train
            train_loss, train_accuracy, _ = self.compute_loss_and_accuracy(X_train, y_train)
            X_valid, y_valid = self.valid
            valid_loss, valid_accuracy, _ = self.compute_loss_and_accuracy(X_valid, y_valid)

            self.train_logs['train_accuracy'].append(train_accuracy)
            self.train_logs['validation_accuracy'].append(valid_accuracy)
            self.train_logs['train_loss'].append(train_loss)
            self.train_logs['validation_loss'].append(valid_loss)

        return self.train_logs

    def evaluate(self):
        X_test, y_test = self.test
        test_loss, test_accuracy, _ = self.compute_loss_and_accuracy(X_test, y_test)
        return test_loss, test_accuracy
