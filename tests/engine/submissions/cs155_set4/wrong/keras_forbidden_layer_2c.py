# expect-fail: build_model_2c
# bug: 2C written in Keras (`tensorflow.keras`) with a Conv2D layer, which 2C does not allow
# expect-hint: build_model_2c: Not allowed in this problem: layer 1 `Conv2d(1, 8, kernel_size=3)`
from tensorflow.keras import Input, Sequential
from tensorflow.keras.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D

TRAINING_2C = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}


def build_model_2c():
    # a convolution: 3G's layer, not allowed in 2C
    return Sequential([Input((28, 28, 1)), Conv2D(8, 3, activation="relu"), Flatten(),
                       Dense(100, activation="relu"), Dense(10, activation="softmax")])


TRAINING_2D = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}


def build_model_2d():
    return Sequential([Input((784,)), Dense(150, activation="relu"), Dropout(0.1),
                       Dense(50, activation="relu"), Dense(10, activation="softmax")])


TRAINING_2E = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}


def build_model_2e():
    return Sequential([Input((784,)), Dense(500, activation="relu"), Dense(300, activation="relu"),
                       Dense(200, activation="relu"), Dense(10)])


TRAINING_3G = {"optimizer": "Adam", "lr": 1e-3}


def build_model_3g():
    return Sequential([Input((28, 28, 1)), Conv2D(32, 3, activation="relu"), BatchNormalization(),
                       MaxPooling2D(), Dropout(0.1), Flatten(), Dense(64, activation="relu"),
                       Dense(10, activation="softmax")])
