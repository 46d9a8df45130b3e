# expect-fail: train_loop
# bug: the minibatch loop runs `range(n_batches - 1)`: each epoch skips its last minibatch,
#      a whole one when the set splits evenly (found by `grader audit`)
# The course template's own lines (long lines, `class NN(object)`, `for epoch`) are kept verbatim.
# ruff: noqa: E501, UP004, B007
"""IFT6135 Assignment 1, Problem 1: reference solution.

A numpy-only MLP for MNIST with the course's template interface.
"""
import gzip
import pickle

import numpy as np


def one_hot(y, n_classes=10):
    return np.eye(n_classes)[y]


def load_mnist():
    """Read the course's mnist.pkl.gz into (train, valid, test), each (X, one_hot_Y)."""
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
        """Create W1, b1, ..., Wm, bm; W_l is (fan_in, fan_out), b_l is zeros (1, fan_out)."""
        if self.seed is not None:
            np.random.seed(self.seed)

        self.weights = {}
        # self.weights is a dictionnary with keys W1, b1, W2, b2, ..., Wm, Bm where m - 1 is the number of hidden layers
        all_dims = [dims[0]] + list(self.hidden_dims) + [dims[1]]
        for layer_n in range(1, self.n_hidden + 2):
            fan_in, fan_out = all_dims[layer_n - 1], all_dims[layer_n]
            if self.init_method == "zero":
                W = np.zeros((fan_in, fan_out))
            elif self.init_method == "normal":
                W = np.random.randn(fan_in, fan_out)
            elif self.init_method == "glorot":
                d = np.sqrt(6.0 / (fan_in + fan_out))
                W = np.random.uniform(-d, d, size=(fan_in, fan_out))
            else:
                raise ValueError(f"unknown init_method {self.init_method!r}")
            self.weights[f"W{layer_n}"] = W
            self.weights[f"b{layer_n}"] = np.zeros((1, fan_out))

    def relu(self, x, grad=False):
        """max(0, x), or its derivative (0 at the kink)."""
        x = np.asarray(x)
        if grad:
            return (x > 0).astype(x.dtype)
        return np.maximum(x, 0)

    def sigmoid(self, x, grad=False):
        """Logistic function, computed without overflow for any |x|."""
        x = np.asarray(x)
        e = np.exp(-np.abs(x))  # in (0, 1], never overflows
        s = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        if grad:
            return s * (1 - s)
        return s

    def tanh(self, x, grad=False):
        """Hyperbolic tangent, or its derivative 1 - tanh(x)^2."""
        t = np.tanh(x)
        if grad:
            return 1 - t ** 2
        return t

    def activation(self, x, grad=False):
        """The hidden-layer nonlinearity named by self.activation_str."""
        if self.activation_str == "relu":
            return self.relu(x, grad=grad)
        elif self.activation_str == "sigmoid":
            return self.sigmoid(x, grad=grad)
        elif self.activation_str == "tanh":
            return self.tanh(x, grad=grad)
        else:
            raise Exception("invalid")

    def softmax(self, x):
        """Row-wise softmax over the last axis."""
        # Remember that softmax(x-C) = softmax(x) when C is a constant.
        z = x - np.max(x, axis=-1, keepdims=True)
        e = np.exp(z)
        return e / np.sum(e, axis=-1, keepdims=True)

    def forward(self, x):
        """Return the cache {Z0, A1, Z1, ..., Am, Zm}; Zm holds the class probabilities."""
        cache = {"Z0": x}
        # cache is a dictionnary with keys Z0, A0, ..., Zm, Am where m - 1 is the number of hidden layers
        # Ai corresponds to the preactivation at layer i, Zi corresponds to the activation at layer i
        m = self.n_hidden + 1
        for layer_n in range(1, m + 1):
            A = cache[f"Z{layer_n - 1}"] @ self.weights[f"W{layer_n}"] + self.weights[f"b{layer_n}"]
            cache[f"A{layer_n}"] = A
            cache[f"Z{layer_n}"] = self.softmax(A) if layer_n == m else self.activation(A)
        return cache

    def backward(self, cache, labels):
        """Gradients of the mean cross-entropy over the batch."""
        output = cache[f"Z{self.n_hidden + 1}"]
        grads = {}
        # grads is a dictionnary with keys dAm, dWm, dbm, dZ(m-1), dA(m-1), ..., dW1, db1
        m = self.n_hidden + 1
        dA = (output - labels) / labels.shape[0]
        for layer_n in range(m, 0, -1):
            grads[f"dA{layer_n}"] = dA
            grads[f"dW{layer_n}"] = cache[f"Z{layer_n - 1}"].T @ dA
            grads[f"db{layer_n}"] = np.sum(dA, axis=0, keepdims=True)
            if layer_n > 1:
                dZ = dA @ self.weights[f"W{layer_n}"].T
                grads[f"dZ{layer_n - 1}"] = dZ
                dA = dZ * self.activation(cache[f"A{layer_n - 1}"], grad=True)
        return grads

    def update(self, grads):
        """One plain SGD step on every weight and bias."""
        for layer in range(1, self.n_hidden + 2):
            for name in ("W", "b"):
                key = f"{name}{layer}"
                self.weights[key] = self.weights[key] - self.lr * grads[f"d{key}"]

    def loss(self, prediction, labels):
        """Mean over the batch of the cross-entropy between labels and predicted probabilities."""
        prediction[np.where(prediction < self.epsilon)] = self.epsilon
        prediction[np.where(prediction > 1 - self.epsilon)] = 1 - self.epsilon
        return -np.mean(np.sum(labels * np.log(prediction), axis=1))

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
            for batch in range(n_batches - 1):
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
        """Test-set (loss, accuracy)."""
        X_test, y_test = self.test
        test_loss, test_accuracy, _ = self.compute_loss_and_accuracy(X_test, y_test)
        return test_loss, test_accuracy
