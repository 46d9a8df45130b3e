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
        for layer_n in range(1, self.n_hidden + 2):
            # WRITE CODE HERE
            raise NotImplementedError(
                "initialize_weights: set W{layer_n} of shape (all_dims[layer_n-1], all_dims[layer_n]) "
                "following self.init_method ('zero', 'normal', 'glorot') and b{layer_n} = zeros (1, all_dims[layer_n])")

    def relu(self, x, grad=False):
        if grad:
            # WRITE CODE HERE
            raise NotImplementedError("relu: with grad=True return the derivative, 1 where x > 0 and 0 elsewhere")
        # WRITE CODE HERE
        raise NotImplementedError("relu: return max(0, x) elementwise (see np.maximum)")

    def sigmoid(self, x, grad=False):
        if grad:
            # WRITE CODE HERE
            raise NotImplementedError("sigmoid: with grad=True return s * (1 - s) where s = sigmoid(x)")
        # WRITE CODE HERE
        raise NotImplementedError("sigmoid: return 1 / (1 + exp(-x)) without overflowing for large |x| (e.g. x = -1000)")

    def tanh(self, x, grad=False):
        if grad:
            # WRITE CODE HERE
            raise NotImplementedError("tanh: with grad=True return 1 - tanh(x)**2")
        # WRITE CODE HERE
        raise NotImplementedError("tanh: return the hyperbolic tangent of x; it must stay finite at |x| = 1000")

    def activation(self, x, grad=False):
        if self.activation_str == "relu":
            # WRITE CODE HERE
            raise NotImplementedError("activation: call self.relu and pass grad on")
        elif self.activation_str == "sigmoid":
            # WRITE CODE HERE
            raise NotImplementedError("activation: call self.sigmoid and pass grad on")
        elif self.activation_str == "tanh":
            # WRITE CODE HERE
            raise NotImplementedError("activation: call self.tanh and pass grad on")
        else:
            raise Exception("invalid")

    def softmax(self, x):
        # Remember that softmax(x-C) = softmax(x) when C is a constant.
        # WRITE CODE HERE
        raise NotImplementedError(
            "softmax: normalise each row of the (batch, classes) input; subtract the row max first")

    def forward(self, x):
        cache = {"Z0": x}
        # cache is a dictionnary with keys Z0, A0, ..., Zm, Am where m - 1 is the number of hidden layers
        # Ai corresponds to the preactivation at layer i, Zi corresponds to the activation at layer i
        # WRITE CODE HERE
        raise NotImplementedError(
            "forward: for each layer A_i = Z_{i-1} @ W_i + b_i, Z_i = activation(A_i); the last Z is softmax(A_m)")
        return cache

    def backward(self, cache, labels):
        output = cache[f"Z{self.n_hidden + 1}"]
        grads = {}
        # grads is a dictionnary with keys dAm, dWm, dbm, dZ(m-1), dA(m-1), ..., dW1, db1
        # WRITE CODE HERE
        raise NotImplementedError(
            "backward: start from dA_m = (output - labels) / batch_size, the gradient of the MEAN loss")
        return grads

    def update(self, grads):
        for layer in range(1, self.n_hidden + 2):
            # WRITE CODE HERE
            raise NotImplementedError("update: W_i -= lr * dW_i and b_i -= lr * db_i (plain SGD)")

    def loss(self, prediction, labels):
        prediction[np.where(prediction < self.epsilon)] = self.epsilon
        prediction[np.where(prediction > 1 - self.epsilon)] = 1 - self.epsilon
        # WRITE CODE HERE
        raise NotImplementedError(
            "loss: return the cross-entropy -sum(labels * log(prediction)) averaged over the batch")

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
                # WRITE CODE HERE
                raise NotImplementedError(
                    "train_loop: run forward on the minibatch, backward with its labels, then update")

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
        # WRITE CODE HERE
        raise NotImplementedError(
            "evaluate: return (loss, accuracy) on self.test, using self.compute_loss_and_accuracy")
