"""Regenerate correct/notebook_colab.ipynb from the cell sources below.

Run from anywhere:  python tests/engine/submissions/ift6135_a1/make_notebook.py
Cell ids and metadata are fixed, so the output is byte-for-byte reproducible.
"""
import pathlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

HERE = pathlib.Path(__file__).resolve().parent
TARGET = HERE / "correct" / "notebook_colab.ipynb"

MARKDOWN_INTRO = """\
# IFT6135 - Assignment 1, Problem 1

MLP on MNIST written in numpy. Upload `mnist.pkl.gz` to the Colab session before running
the training cell. The graded class is `NN` below."""

SETUP = """\
# expect: full-marks
# variety: Colab notebook: markdown cell, !pip / %matplotlib magics, imports cell, full NN class in one cell, plotting helper, training cell last
!pip install tqdm
%matplotlib inline"""

IMPORTS = """\
import gzip
import pickle

import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm"""

DATA = """\
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

    return train_data, val_data, test_data"""

MARKDOWN_MODEL = """\
## The model

`A_i = Z_{i-1} W_i + b_i`, `Z_i = g(A_i)` for the hidden layers and `Z_m = softmax(A_m)`."""

CLASS = """\
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

        self.weights = {}
        # self.weights is a dictionnary with keys W1, b1, W2, b2, ..., Wm, Bm where m - 1 is the number of hidden layers
        all_dims = [dims[0]] + list(self.hidden_dims) + [dims[1]]
        for layer_n in range(1, self.n_hidden + 2):
            h_in, h_out = all_dims[layer_n - 1], all_dims[layer_n]
            if self.init_method == "zero":
                W = np.zeros((h_in, h_out))
            elif self.init_method == "normal":
                W = np.random.normal(loc=0.0, scale=1.0, size=(h_in, h_out))
            elif self.init_method == "glorot":
                d = np.sqrt(6 / (h_in + h_out))
                W = np.random.uniform(low=-d, high=d, size=(h_in, h_out))
            else:
                raise Exception("invalid init method")
            self.weights[f"W{layer_n}"] = W
            self.weights[f"b{layer_n}"] = np.zeros((1, all_dims[layer_n]))

    def relu(self, x, grad=False):
        if grad:
            return np.where(x > 0, 1.0, 0.0)
        return np.where(x > 0, x, 0.0)

    def sigmoid(self, x, grad=False):
        s = np.exp(-np.logaddexp(0, -x))  # 1 / (1 + e^-x) computed in log space
        if grad:
            return s * (1 - s)
        return s

    def tanh(self, x, grad=False):
        if grad:
            return 1 - np.tanh(x) ** 2
        return np.tanh(x)

    def activation(self, x, grad=False):
        if self.activation_str == "relu":
            return self.relu(x, grad=grad)
        elif self.activation_str == "sigmoid":
            return self.sigmoid(x, grad=grad)
        elif self.activation_str == "tanh":
            return self.tanh(x, grad=grad)
        else:
            raise Exception("invalid")

    def softmax(self, x):
        # Remember that softmax(x-C) = softmax(x) when C is a constant.
        x = x - np.max(x, axis=1, keepdims=True)
        return np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)

    def forward(self, x):
        cache = {"Z0": x}
        # cache is a dictionnary with keys Z0, A0, ..., Zm, Am where m - 1 is the number of hidden layers
        # Ai corresponds to the preactivation at layer i, Zi corresponds to the activation at layer i
        for i in range(1, self.n_hidden + 2):
            cache[f"A{i}"] = cache[f"Z{i - 1}"] @ self.weights[f"W{i}"] + self.weights[f"b{i}"]
            if i <= self.n_hidden:
                cache[f"Z{i}"] = self.activation(cache[f"A{i}"])
            else:
                cache[f"Z{i}"] = self.softmax(cache[f"A{i}"])
        return cache

    def backward(self, cache, labels):
        output = cache[f"Z{self.n_hidden + 1}"]
        grads = {}
        # grads is a dictionnary with keys dAm, dWm, dbm, dZ(m-1), dA(m-1), ..., dW1, db1
        m = self.n_hidden + 1
        grads[f"dA{m}"] = (output - labels) / output.shape[0]
        for i in range(m, 0, -1):
            grads[f"dW{i}"] = cache[f"Z{i - 1}"].T @ grads[f"dA{i}"]
            grads[f"db{i}"] = np.sum(grads[f"dA{i}"], axis=0, keepdims=True)
            if i > 1:
                grads[f"dZ{i - 1}"] = grads[f"dA{i}"] @ self.weights[f"W{i}"].T
                grads[f"dA{i - 1}"] = grads[f"dZ{i - 1}"] * self.activation(cache[f"A{i - 1}"], grad=True)
        return grads

    def update(self, grads):
        for layer in range(1, self.n_hidden + 2):
            self.weights[f"W{layer}"] = self.weights[f"W{layer}"] - self.lr * grads[f"dW{layer}"]
            self.weights[f"b{layer}"] = self.weights[f"b{layer}"] - self.lr * grads[f"db{layer}"]

    def loss(self, prediction, labels):
        prediction[np.where(prediction < self.epsilon)] = self.epsilon
        prediction[np.where(prediction > 1 - self.epsilon)] = 1 - self.epsilon
        return np.mean(-np.sum(labels * np.log(prediction), axis=1))

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
        return test_loss, test_accuracy"""

PLOT = """\
def plot_logs(logs, title=""):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, what in zip(axes, ("loss", "accuracy")):
        ax.plot(logs[f"train_{what}"], label="train")
        ax.plot(logs[f"validation_{what}"], label="valid")
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        ax.legend()
    fig.suptitle(title)
    plt.show()"""

TRAIN = """\
data = load_mnist()
nn = NN(hidden_dims=(784, 256), lr=0.01, batch_size=64, seed=0, data=data)
logs = nn.train_loop(10)
plot_logs(logs, "784-256, relu, glorot")
print(nn.evaluate())"""


def build():
    pip_output = new_output(
        "stream", name="stdout",
        text="Requirement already satisfied: tqdm in /usr/local/lib/python3.6/dist-packages (4.41.1)\n")
    cells = [
        new_markdown_cell(MARKDOWN_INTRO, id="intro"),
        new_code_cell(SETUP, id="setup", execution_count=1, outputs=[pip_output]),
        new_code_cell(IMPORTS, id="imports", execution_count=2),
        new_code_cell(DATA, id="data"),
        new_markdown_cell(MARKDOWN_MODEL, id="model-md"),
        new_code_cell(CLASS, id="model"),
        new_code_cell(PLOT, id="plotting"),
        new_code_cell(TRAIN, id="training"),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata = {
        "colab": {"name": "IFT6135_A1_P1.ipynb", "provenance": []},
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(nb)
    return nb


def main():
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(build(), str(TARGET))
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
