# expect: full-marks
# variety: alternative formulas: sigmoid = 0.5 * (1 + tanh(x / 2)), softmax via logsumexp, loss via take_along_axis on argmax labels, dW via einsum
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
        for layer_n, (h_prev, h) in enumerate(zip(all_dims[:-1], all_dims[1:]), start=1):
            if self.init_method == "glorot":
                limit = (6.0 / (h_prev + h)) ** 0.5
                # U(-limit, limit) written as an affine map of U(0, 1)
                self.weights[f"W{layer_n}"] = limit * (2 * np.random.rand(h_prev, h) - 1)
            elif self.init_method == "normal":
                self.weights[f"W{layer_n}"] = np.random.standard_normal((h_prev, h))
            elif self.init_method == "zero":
                self.weights[f"W{layer_n}"] = np.zeros((h_prev, h))
            else:
                raise ValueError(self.init_method)
            self.weights[f"b{layer_n}"] = np.zeros((1, h))

    def relu(self, x, grad=False):
        if grad:
            return np.heaviside(x, 0.0)
        return np.clip(x, 0, None)

    def sigmoid(self, x, grad=False):
        # identity: sigmoid(x) = (1 + tanh(x / 2)) / 2, and tanh never overflows
        s = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x)))
        if grad:
            return s - s ** 2
        return s

    def tanh(self, x, grad=False):
        if grad:
            # sech(x)^2 = 4 e^{-2|x|} / (1 + e^{-2|x|})^2, written so that nothing overflows
            e = np.exp(-2.0 * np.abs(x))
            return 4.0 * e / (1.0 + e) ** 2
        return np.tanh(x)

    def activation(self, x, grad=False):
        functions = {"relu": self.relu, "sigmoid": self.sigmoid, "tanh": self.tanh}
        if self.activation_str not in functions:
            raise Exception("invalid")
        return functions[self.activation_str](x, grad=grad)

    def softmax(self, x):
        # Remember that softmax(x-C) = softmax(x) when C is a constant.
        x = np.asarray(x)
        c = x.max(axis=-1, keepdims=True)
        logsumexp = c + np.log(np.exp(x - c).sum(axis=-1, keepdims=True))
        return np.exp(x - logsumexp)

    def forward(self, x):
        cache = {"Z0": x}
        # cache is a dictionnary with keys Z0, A0, ..., Zm, Am where m - 1 is the number of hidden layers
        # Ai corresponds to the preactivation at layer i, Zi corresponds to the activation at layer i
        last = self.n_hidden + 1
        h = x
        for i in range(1, last + 1):
            a = np.matmul(h, self.weights["W" + str(i)]) + self.weights["b" + str(i)]
            h = self.softmax(a) if i == last else self.activation(a)
            cache["A" + str(i)] = a
            cache["Z" + str(i)] = h
        return cache

    def backward(self, cache, labels):
        output = cache[f"Z{self.n_hidden + 1}"]
        grads = {}
        # grads is a dictionnary with keys dAm, dWm, dbm, dZ(m-1), dA(m-1), ..., dW1, db1
        i = self.n_hidden + 1
        delta = (output - labels) / len(labels)
        while i >= 1:
            grads[f"dA{i}"] = delta
            grads[f"dW{i}"] = np.einsum("ni,nj->ij", cache[f"Z{i - 1}"], delta, optimize=True)
            grads[f"db{i}"] = np.einsum("nj->j", delta)[None, :]
            if i > 1:
                grads[f"dZ{i - 1}"] = np.einsum("nj,ij->ni", delta, self.weights[f"W{i}"], optimize=True)
                delta = grads[f"dZ{i - 1}"] * self.activation(cache[f"A{i - 1}"], grad=True)
            i -= 1
        return grads

    def update(self, grads):
        for layer in range(1, self.n_hidden + 2):
            self.weights.update({
                f"W{layer}": self.weights[f"W{layer}"] - self.lr * grads[f"dW{layer}"],
                f"b{layer}": self.weights[f"b{layer}"] - self.lr * grads[f"db{layer}"],
            })

    def loss(self, prediction, labels):
        prediction[np.where(prediction < self.epsilon)] = self.epsilon
        prediction[np.where(prediction > 1 - self.epsilon)] = 1 - self.epsilon
        targets = np.argmax(labels, axis=1)[:, None]
        picked = np.take_along_axis(prediction, targets, axis=1)
        return float(-np.log(picked).mean())

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
                self.update(self.backward(self.forward(minibatchX), minibatchY))

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
        loss, accuracy, _ = self.compute_loss_and_accuracy(X_test, y_test)
        return loss, accuracy
