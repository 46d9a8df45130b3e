# expect: zero
# stub: a class whose every method returns 0 and whose weights dict stays empty
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
        self.weights = {}
        self.train_logs = {'train_accuracy': [], 'validation_accuracy': [], 'train_loss': [],
                           'validation_loss': []}
        self.train, self.valid, self.test = data if data is not None else (None, None, None)

    def initialize_weights(self, dims):
        return 0

    def relu(self, x, grad=False):
        return 0

    def sigmoid(self, x, grad=False):
        return 0

    def tanh(self, x, grad=False):
        return 0

    def activation(self, x, grad=False):
        return 0

    def softmax(self, x):
        return 0

    def forward(self, x):
        return 0

    def backward(self, cache, labels):
        return 0

    def update(self, grads):
        return 0

    def loss(self, prediction, labels):
        return 0

    def compute_loss_and_accuracy(self, X, y):
        return 0

    def train_loop(self, n_epochs):
        return 0

    def evaluate(self):
        return 0
