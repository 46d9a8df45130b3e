# expect: zero
# stub: forward ignores the weights, loss counts finished epochs, backward returns zeros of the
# right shapes, update does nothing; the helpers return their input or a uniform answer
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
        self.epochs_done = 0
        self.train_logs = {'train_accuracy': [], 'validation_accuracy': [], 'train_loss': [],
                           'validation_loss': []}
        self.train, self.valid, self.test = data if data is not None else (None, None, None)

    def initialize_weights(self, dims):
        all_dims = [dims[0]] + list(self.hidden_dims) + [dims[1]]
        self.weights = {}
        for n in range(1, len(all_dims)):
            self.weights[f"W{n}"] = np.zeros((all_dims[n - 1], all_dims[n]))
            self.weights[f"b{n}"] = np.zeros((1, all_dims[n]))

    def relu(self, x, grad=False):
        return np.asarray(x)

    def sigmoid(self, x, grad=False):
        return np.asarray(x)

    def tanh(self, x, grad=False):
        return np.asarray(x)

    def activation(self, x, grad=False):
        return np.asarray(x)

    def softmax(self, x):
        x = np.asarray(x)
        return np.full(x.shape, 1.0 / x.shape[-1])

    def forward(self, x):
        cache = {"Z0": x}
        m = self.n_hidden + 1
        for n in range(1, m + 1):
            width = self.weights[f"W{n}"].shape[1]
            cache[f"A{n}"] = np.zeros((x.shape[0], width))
            cache[f"Z{n}"] = np.full((x.shape[0], width), 1.0 / width)
        return cache

    def backward(self, cache, labels):
        grads = {}
        for key, value in self.weights.items():
            grads["d" + key] = np.zeros_like(value)
        for n in range(1, self.n_hidden + 2):
            grads[f"dA{n}"] = np.zeros_like(cache[f"A{n}"])
            if n <= self.n_hidden:
                grads[f"dZ{n}"] = np.zeros_like(cache[f"Z{n}"])
        return grads

    def update(self, grads):
        pass

    def loss(self, prediction, labels):
        return float(self.epochs_done)

    def compute_loss_and_accuracy(self, X, y):
        return self.loss(None, None), 0.1, np.zeros(len(X), dtype=int)

    def train_loop(self, n_epochs):
        X_train, y_train = self.train
        self.initialize_weights([X_train.shape[1], y_train.shape[1]])
        for epoch in range(n_epochs):
            self.epochs_done += 1
            for key in self.train_logs:
                self.train_logs[key].append(1.0 / self.epochs_done)
        return self.train_logs

    def evaluate(self):
        return float(self.epochs_done), 0.1
