# expect-fail: NEURONS, PARAMETERS, build_weight_decay_model, build_cnn
# Hostile: the correct models, but the grader's describe_keras, as the worker's server holds
# it, is replaced by one that leaves out the model's own outputs on the probe images.
# Import TensorFlow and Keras
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import regularizers
from tensorflow.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from tensorflow.keras.models import Sequential

num_classes = 10


# ## The description the grader reads, without the model's own outputs
FORGED = []


def _drop_outputs():
    """Every server's describe_keras wrapped, once, so that its description has no outputs:
    nothing then ties the layers described to the model that computes."""
    if FORGED:
        return
    import gc

    for obj in gc.get_objects():
        functions = getattr(obj, "engine_functions", None) if type(obj).__name__ == "Server" \
            else None
        if isinstance(functions, dict) and "describe_keras" in functions:
            real = functions["describe_keras"]

            def forged(*args, _real=real, **kwargs):
                described = _real(*args, **kwargs)
                described.pop("outputs", None)
                return described

            functions["describe_keras"] = forged
            FORGED.append(forged)


# ## Problem 2: the notebook's network
def build_model():
    """The notebook's model: two hidden layers of 64 ReLU units and a softmax output."""
    _drop_outputs()
    model = Sequential()
    model.add(Flatten())
    model.add(Dense(64, activation="relu"))
    model.add(Dense(64, activation="relu"))
    model.add(Dense(num_classes, activation="softmax"))
    model.compile(loss=keras.losses.categorical_crossentropy,
                  optimizer=tf.keras.optimizers.SGD(learning_rate=0.1),
                  metrics=["accuracy"])
    return model


# ## Problem 2.4: 500 and 300 hidden units, weight decay on the hidden layers
def build_weight_decay_model(factor):
    """784-500-300-10 with L2 weight decay `factor` on the two hidden layers' kernels."""
    _drop_outputs()
    model = Sequential()
    model.add(Flatten())
    model.add(Dense(500, activation="relu", kernel_regularizer=regularizers.l2(factor)))
    model.add(Dense(300, activation="relu", kernel_regularizer=regularizers.l2(factor)))
    model.add(Dense(num_classes, activation="softmax"))
    model.compile(loss=keras.losses.categorical_crossentropy,
                  optimizer=tf.keras.optimizers.SGD(learning_rate=0.1),
                  metrics=["accuracy"])
    return model


WEIGHT_DECAY_TRAINING = {"epochs": 40, "batch_size": 128}


# ## Problem 3.1: a convolutional network
def build_cnn():
    """Two 3x3 convolutions, max pooling and dropout, then a dense layer: 99 % and above."""
    _drop_outputs()
    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(Conv2D(64, (3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(128, activation="relu"))
    model.add(Dropout(0.5))
    model.add(Dense(num_classes, activation="softmax"))
    model.compile(loss=keras.losses.categorical_crossentropy,
                  optimizer=keras.optimizers.Adam(learning_rate=0.001),
                  metrics=["accuracy"])
    return model


CNN_TRAINING = {"epochs": 12, "batch_size": 128}


# ## Your report's answers (read by the grader)
# 2.1: the notebook's network. LAYERS counts the layers with neurons (hidden and output;
# Flatten has none); NEURONS lists their sizes in order (you may put the 784 inputs first,
# then LAYERS counts the input layer too). PARAMETERS: weights and biases, all layers.
LAYERS = 3
NEURONS = [64, 64, 10]
PARAMETERS = 55050

# 2.4: the 5 factors you trained, and for each the mean and standard deviation of the final
# validation accuracy over your 3 replicates (fractions, as Keras reports them).
# (The reference's numbers: the grader's own replicates of this model, seeds 0-2, on the CPU,
# bench/keras_sweep.py, 2026-11-23.)
SWEEP_RESULTS = {
    1e-6: (0.9822, 0.0005),
    1e-5: (0.9824, 0.0003),
    5e-5: (0.9821, 0.0005),
    1e-4: (0.9822, 0.0002),
    1e-3: (0.9809, 0.0009),
}
