# expect-fail: build_model_3g
# bug: 3G written in Keras (`tensorflow.keras`) with over 1.6 million parameters (fewer than 1,000,000 required)
# expect-hint: build_model_3g: yours has 1,606,730: the largest layers are `Linear(25088, 64)`
from tensorflow.keras import Input, Sequential
from tensorflow.keras.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D

TRAINING_2C = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}


def build_model_2c():
    return Sequential([Input((28, 28, 1)), Flatten(), Dense(100, activation="relu"),
                       Dense(10, activation="softmax")])


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
    # no pooling before Flatten: Dense(64) gets 28 * 28 * 32 inputs (1.6M weights)
    return Sequential([Input((28, 28, 1)), Conv2D(32, 3, padding="same", activation="relu"),
                       BatchNormalization(), Dropout(0.1), Flatten(), Dense(64, activation="relu"),
                       Dense(10, activation="softmax")])
