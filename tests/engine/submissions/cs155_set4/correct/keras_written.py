# expect: full-marks
# Earlier years of the course: all four models in Keras (`tensorflow.keras`), compiled in the
# builders as the notebook did; the grader trains them with the TRAINING_XX settings instead.
import tensorflow as tf
from tensorflow.keras.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten
from tensorflow.keras.layers import MaxPooling2D
from tensorflow.keras.models import Sequential

TRAINING_2C = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}


def build_model_2c():
    model = Sequential()
    model.add(Flatten(input_shape=(28, 28, 1)))
    model.add(Dense(100, activation="relu"))
    model.add(Dropout(0.1))
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


TRAINING_2D = {"optimizer": "RMSprop", "lr": 1e-3, "epochs": 10, "batch_size": 64}


def build_model_2d():
    model = Sequential([
        Dense(150, activation="relu", input_shape=(784,)),
        Dropout(0.1),
        Dense(50, activation="relu"),
        Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    return model


TRAINING_2E = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32,
               "step_size": 5, "gamma": 0.1}


def build_model_2e():
    return tf.keras.Sequential([
        tf.keras.Input(shape=(28, 28)),
        Flatten(),
        Dense(500, activation="relu"),
        Dropout(0.2),
        Dense(300, activation="relu"),
        Dropout(0.2),
        Dense(200, activation="relu"),
        Dense(10),
    ])


TRAINING_3G = {"optimizer": "Adam", "lr": 1e-3}


def build_model_3g():
    model = Sequential([
        Conv2D(32, (3, 3), padding="same", activation="relu", input_shape=(28, 28, 1)),
        BatchNormalization(),
        MaxPooling2D((2, 2)),
        Dropout(0.1),
        Conv2D(64, (3, 3), padding="same"),
        BatchNormalization(),
        tf.keras.layers.Activation("relu"),
        MaxPooling2D((2, 2)),
        Dropout(0.1),
        Flatten(),
        Dense(128, activation="relu"),
        Dropout(0.2),
        Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model
