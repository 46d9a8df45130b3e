# expect: full-marks
# variety: NN inherits most methods from a BaseNN defined in the same file (activations, softmax, loss, init live in the base)
import pickle
import numpy as np
import gzip


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


class BaseNN(object):
    """Pieces that do not depend on the layer structure."""

    def __init__(self, epsilon=1e-6, lr=7e-4, seed=None, activation="relu", init_method="glorot"):
        self.epsilon = epsilon
        self.lr = lr
        self.seed = seed
        self.activation_str = activation
        self.init_method = init_method

    def _init_matrix(self, fan_in, fan_out):
        if self.init_method == "zero":
            return np.zeros((fan_in, fan_out))
        if self.init_method == "normal":
            return np.random.randn(fan_in, fan_out)
        if self.init_method == "glorot":
            d = np.sqrt(6.0 / (fan_in + fan_out))
            return np.random.uniform(-d, d, (fan_in, fan_out))
        raise ValueError("unknown init method " + repr(self.init_method))

    def relu(self, x, grad=False):
        if grad:
            return np.greater(x, 0).astype(float)
        return np.maximum(0.0, x)

    def sigmoid(self, x, grad=False):
        x = np.asarray(x, dtype=float)
        with np.errstate(over="ignore"):
            s = np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))
        if grad:
            return s * (1.0 - s)
        return s

    def tanh(self, x, grad=False):
        t = np.tanh(x)
        return 1.0 - t * t if grad else t

    def activation(self, x, grad=False):
        if self.activation_str == "relu":
            return self.relu(x, grad)
        elif self.activation_str == "sigmoid":
            return self.sigmoid(x, grad)
        elif self.activation_str == "tanh":
            return self.tanh(x, grad)
        else:
            raise Exception("invalid")

    def softmax(self, x):
        # Remember that softmax(x-C) = softmax(x) when C is a constant.
        shifted = x - x.max(axis=1, keepdims=True)
        out = np.exp(shifted)
        out /= out.sum(axis=1, keepdims=True)
        return out

    def loss(self, prediction, labels):
        prediction[np.where(prediction < self.epsilon)] = self.epsilon
        prediction[np.where(prediction > 1 - self.epsilon)] = 1 - self.epsilon
        return -(labels * np.log(prediction)).sum(axis=1).mean()


class NN(BaseNN):
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
        super().__init__(epsilon=epsilon, lr=lr, seed=seed, activation=activation, init_method=init_method)

        self.hidden_dims = hidden_dims
        self.n_hidden = len(hidden_dims)
        self.batch_size = batch_size

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
            self.weights[f"W{layer_n}"] = self._init_matrix(all_dims[layer_n - 1], all_dims[layer_n])
            self.weights[f"b{layer_n}"] = np.zeros((1, all_dims[layer_n]))

    def forward(self, x):
        cache = {"Z0": x}
        # cache is a dictionnary with keys Z0, A0, ..., Zm, Am where m - 1 is the number of hidden layers
        # Ai corresponds to the preactivation at layer i, Zi corresponds to the activation at layer i
        for l in range(1, self.n_hidden + 2):
            cache[f"A{l}"] = cache[f"Z{l - 1}"] @ self.weights[f"W{l}"] + self.weights[f"b{l}"]
            if l == self.n_hidden + 1:
                cache[f"Z{l}"] = self.softmax(cache[f"A{l}"])
            else:
                cache[f"Z{l}"] = self.activation(cache[f"A{l}"])
        return cache

    def backward(self, cache, labels):
        output = cache[f"Z{self.n_hidden + 1}"]
        grads = {}
        # grads is a dictionnary with keys dAm, dWm, dbm, dZ(m-1), dA(m-1), ..., dW1, db1
        m = self.n_hidden + 1
        grads[f"dA{m}"] = (output - labels) / output.shape[0]
        for l in range(m, 0, -1):
            grads[f"dW{l}"] = cache[f"Z{l - 1}"].T @ grads[f"dA{l}"]
            grads[f"db{l}"] = grads[f"dA{l}"].sum(axis=0).reshape(1, -1)
            if l == 1:
                break
            grads[f"dZ{l - 1}"] = grads[f"dA{l}"] @ self.weights[f"W{l}"].T
            grads[f"dA{l - 1}"] = grads[f"dZ{l - 1}"] * self.activation(cache[f"A{l - 1}"], grad=True)
        return grads

    def update(self, grads):
        for layer in range(1, self.n_hidden + 2):
            for p in ("W", "b"):
                self.weights[f"{p}{layer}"] = self.weights[f"{p}{layer}"] - self.lr * grads[f"d{p}{layer}"]

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
