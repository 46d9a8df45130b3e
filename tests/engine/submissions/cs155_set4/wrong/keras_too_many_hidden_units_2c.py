# expect-fail: build_model_2c
# bug: 2C written in Keras with Dense(128) and Dense(64) hidden: 192 hidden units (limit 100)
# expect-hint: build_model_2c: `Dense(units=128, activation='relu')` → `Linear(784, 128)`
from keras import Input, Sequential
from keras.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D

TRAINING_2C = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}


def build_model_2c():
    return Sequential([Input((28, 28, 1)), Flatten(), Dense(128, activation="relu"),
                       Dense(64, activation="relu"), Dense(10, activation="softmax")])


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
