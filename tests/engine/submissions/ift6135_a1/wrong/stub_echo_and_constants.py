# expect: zero
# stub: every function hands back its input, or a constant of the right shape; nothing computes
import numpy as np


class NN(object):
    def __init__(self, hidden_dims=(784, 256), epsilon=1e-6, lr=7e-4, batch_size=64, seed=None,
                 activation="relu", init_method="glorot", data=None):
        self.hidden_dims = hidden_dims
        self.n_hidden = len(hidden_dims)
        self.lr = lr
        self.batch_size = batch_size
        self.init_method = init_method
        self.seed = seed
        self.activation_str = activation
        self.epsilon = epsilon
        self.train_logs = {'train_accuracy': [], 'validation_accuracy': [], 'train_loss': [],
                           'validation_loss': []}
        self.train, self.valid, self.test = data if data is not None else (None, None, None)

    def initialize_weights(self, dims):
        all_dims = [dims[0]] + list(self.hidden_dims) + [dims[1]]
        self.weights = {}
        for n in range(1, len(all_dims)):
            self.weights[f"W{n}"] = np.ones((all_dims[n - 1], all_dims[n]))
            self.weights[f"b{n}"] = np.ones((1, all_dims[n]))

    def relu(self, x, grad=False):
        return np.ones_like(np.asarray(x, dtype=float))

    def sigmoid(self, x, grad=False):
        return np.full(np.shape(x), 0.5)

    def tanh(self, x, grad=False):
        return np.zeros(np.shape(x))

    def activation(self, x, grad=False):
        return np.ones(np.shape(x))

    def softmax(self, x):
        return np.asarray(x, dtype=float)

    def forward(self, x):
        return {"Z0": x}

    def backward(self, cache, labels):
        return {"d" + k: np.ones_like(v) for k, v in self.weights.items()}

    def update(self, grads):
        for key in self.weights:
            self.weights[key] = self.weights[key] * 1.0

    def loss(self, prediction, labels):
        return 2.302585

    def compute_loss_and_accuracy(self, X, y):
        return 2.302585, 0.1, np.zeros(len(X), dtype=int)

    def train_loop(self, n_epochs):
        for epoch in range(n_epochs):
            for key, value in (("train_accuracy", 0.1), ("validation_accuracy", 0.1),
                               ("train_loss", 2.3 / (epoch + 1)),
                               ("validation_loss", 2.3 / (epoch + 1))):
                self.train_logs[key].append(value)
        return self.train_logs

    def evaluate(self):
        return 2.302585, 0.1
