# expect: zero
# stub: models that cannot see the image (Dropout(1.0) before everything that learns) and
# ignore `factor`; the sweep reports chance for every factor
# Assignment 7: Neural networks with Keras
#
# This is the course notebook as a .py file (Colab: File > Download > Download .py), with the
# parts the grader reads marked "YOUR CODE" and "Your report's answers". You may also hand in
# the .ipynb itself. How the grader reads it:
#
# - It loads definitions only: imports, functions and plain constants. Cells that train,
#   download or plot are skipped, so keep them as they are for your own runs.
# - Each model lives in a function that builds, compiles and returns it:
#   `build_model()` (the notebook's network, Problem 2), `build_weight_decay_model(factor)`
#   (2.4) and `build_cnn()` (3.1). Paste your `Sequential()` / `model.add(...)` /
#   `model.compile(...)` lines into them and end with `return model`.
# - Use standard Keras layers (Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten,
#   Reshape, Dropout, BatchNormalization, Activation) and regularizers (l1, l2, l1_l2): the
#   grader rebuilds your model from them and trains it itself, on a GPU, with your loss and
#   optimizer. `from tensorflow import keras` and `import keras` both work; TensorFlow-only
#   APIs (tf.nn, tf.GradientTape, tf.data, ...) do not.

# Import TensorFlow and Keras
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import backend as K
from tensorflow.keras import regularizers
from tensorflow.keras.datasets import mnist
from tensorflow.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from tensorflow.keras.models import Sequential
import numpy as np
import matplotlib.pyplot as plt

# Hyper-parameters, data loading and formatting
batch_size = 128
num_classes = 10
epochs = 10
img_rows, img_cols = 28, 28

(x_train, lbl_train), (x_test, lbl_test) = mnist.load_data()

if K.image_data_format() == "channels_first":
    x_train = x_train.reshape(x_train.shape[0], 1, img_rows, img_cols)
    x_test = x_test.reshape(x_test.shape[0], 1, img_rows, img_cols)
    input_shape = (1, img_rows, img_cols)
else:
    x_train = x_train.reshape(x_train.shape[0], img_rows, img_cols, 1)
    x_test = x_test.reshape(x_test.shape[0], img_rows, img_cols, 1)
    input_shape = (img_rows, img_cols, 1)

# Preprocessing
x_train = x_train.astype("float32")
x_test = x_test.astype("float32")
x_train /= 255
x_test /= 255
y_train = keras.utils.to_categorical(lbl_train, num_classes)
y_test = keras.utils.to_categorical(lbl_test, num_classes)


# ## Problem 2: the notebook's network (given)
def build_model():
    model = Sequential()
    model.add(Flatten())
    model.add(Dense(64, activation="relu"))
    model.add(Dense(64, activation="relu"))
    model.add(Dense(num_classes, activation="softmax"))
    model.compile(loss=keras.losses.categorical_crossentropy,
                  optimizer=tf.keras.optimizers.SGD(learning_rate=0.1),
                  metrics=["accuracy"])
    return model


model = build_model()
fit_info = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=1,
                     validation_data=(x_test, y_test))
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss: {}, Test accuracy {}".format(score[0], score[1]))


# ## Problem 2.4: hidden layers of 500 and 300 units, weight decay on the hidden layers
def build_weight_decay_model(factor):
    """Return the compiled 784-500-300-10 model with L2 weight decay `factor` on the
    hidden layers' kernels (`kernel_regularizer=regularizers.l2(factor)`)."""
    model = Sequential()
    model.add(Flatten())
    model.add(Dense(500, activation="relu", kernel_regularizer=regularizers.l2(1e-4)))
    model.add(Dropout(1.0))
    model.add(Dense(300, activation="relu", kernel_regularizer=regularizers.l2(1e-4)))
    model.add(Dense(num_classes, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    return model


# The epochs and batch size of your sweep (the handout: 40 epochs).
WEIGHT_DECAY_TRAINING = {"epochs": 40, "batch_size": 128}
# Your sweep: for each factor, 3 replicates trained with WEIGHT_DECAY_TRAINING, e.g.
# for factor in factors:
#     for replicate in range(3):
#         net = build_weight_decay_model(factor)
#         info = net.fit(x_train, y_train, **WEIGHT_DECAY_TRAINING,
#                        validation_data=(x_test, y_test))
#         ... info.history["val_accuracy"][-1] ...


# ## Problem 3.1: a model with at least one convolutional layer
def build_cnn():
    """Return your compiled convolutional model (input: 28x28x1 images)."""
    model = Sequential()
    model.add(Dropout(1.0, input_shape=(28, 28, 1)))
    model.add(Conv2D(1, (3, 3)))
    model.add(Flatten())
    model.add(Dense(num_classes, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    return model


# The epochs and batch size you trained your CNN with.
CNN_TRAINING = {"epochs": 12, "batch_size": 128}


# ## Your report's answers (read by the grader)
# 2.1: the notebook's network. LAYERS counts the layers with neurons (hidden and output;
# Flatten has none); NEURONS lists their sizes in order (you may put the 784 inputs first,
# then LAYERS counts the input layer too). PARAMETERS: weights and biases, all layers.
LAYERS = None
NEURONS = None
PARAMETERS = None

# 2.4: the 5 factors you trained, and for each the mean and standard deviation of the final
# validation accuracy over your 3 replicates (fractions, as Keras reports them), e.g.
# SWEEP_RESULTS = {1e-6: (0.9812, 0.0007), ...}
SWEEP_RESULTS = {f: (0.1, 0.0) for f in (1e-6, 1e-5, 1e-4, 3e-4, 1e-3)}
