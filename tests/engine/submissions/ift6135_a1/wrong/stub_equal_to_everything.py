# expect: zero
# stub: returns objects that claim to equal anything, arrays of such objects, dict subclasses
# whose lookups always succeed, and numbers that pretend to be close to every number
import numpy as np


class Anything(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __lt__(self, other):
        return True

    def __le__(self, other):
        return True

    def __gt__(self, other):
        return True

    def __ge__(self, other):
        return True

    def __abs__(self):
        return 0.0

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__
    __hash__ = float.__hash__


class Everything(dict):
    def __missing__(self, key):
        return np.array([[Anything(0.0)]], dtype=object)

    def __contains__(self, key):
        return True


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
        self.weights = Everything()
        self.train_logs = Everything()
        self.train, self.valid, self.test = data if data is not None else (None, None, None)

    def initialize_weights(self, dims):
        self.weights = Everything()

    def _anything(self, x=None):
        shape = np.shape(x) if x is not None else (1, 1)
        out = np.empty(shape, dtype=object)
        out[...] = Anything(0.0)
        return out

    def relu(self, x, grad=False):
        return self._anything(x)

    def sigmoid(self, x, grad=False):
        return self._anything(x)

    def tanh(self, x, grad=False):
        return self._anything(x)

    def activation(self, x, grad=False):
        return self._anything(x)

    def softmax(self, x):
        return self._anything(x)

    def forward(self, x):
        return Everything()

    def backward(self, cache, labels):
        return Everything()

    def update(self, grads):
        return None

    def loss(self, prediction, labels):
        return Anything(0.0)

    def compute_loss_and_accuracy(self, X, y):
        return Anything(0.0), Anything(0.0), self._anything()

    def train_loop(self, n_epochs):
        return self.train_logs

    def evaluate(self):
        return Anything(0.0), Anything(0.0)
