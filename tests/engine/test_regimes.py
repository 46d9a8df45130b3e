"""The rules that read training curves (grader.train.regimes), on the ECE1513 seed report's
own logs: each claim of the report is recognised, and each rule rejects the other regimes."""

from __future__ import annotations

import math

import pytest

from grader.train.regimes import (
    Curve,
    converges_with_oscillations,
    diverges,
    overfits,
    slow,
    underfits,
)

# Per-epoch (train, test) accuracies copied from the seed report (learning rates at batch
# size 32 or 128, layer sizes [784, 1024, 1024, 10] unless said otherwise).
BASELINE = Curve(  # learning rate 0.1
    [0.9398, 0.9593, 0.9688, 0.9751, 0.9800, 0.9843, 0.9868, 0.9890, 0.9921, 0.9934],
    [0.9395, 0.9532, 0.9602, 0.9661, 0.9682, 0.9692, 0.9705, 0.9710, 0.9735, 0.9730])
SLOW = Curve(  # learning rate 0.01
    [0.8627, 0.8940, 0.9077, 0.9162, 0.9238, 0.9288, 0.9335, 0.9372, 0.9409, 0.9433],
    [0.8671, 0.8987, 0.9103, 0.9165, 0.9234, 0.9283, 0.9324, 0.9353, 0.9381, 0.9393])
OSCILLATING = Curve(  # learning rate 1
    [0.8758, 0.9420, 0.9507, 0.9576, 0.9660, 0.9727, 0.9703, 0.9746, 0.9807, 0.9824],
    [0.8737, 0.9349, 0.9444, 0.9467, 0.9533, 0.9635, 0.9602, 0.9614, 0.9663, 0.9697])
DIVERGING = Curve(  # learning rate 2
    [0.0975, 0.0904, 0.1124, 0.1044, 0.0993, 0.0986, 0.1124, 0.0975, 0.1044, 0.0986],
    [0.0974, 0.0892, 0.1135, 0.1028, 0.1032, 0.0958, 0.1135, 0.0974, 0.1028, 0.0958])
UNDERFITTING = Curve(  # layer sizes [784, 1, 1, 10]
    [0.2112, 0.2122, 0.2121, 0.2130, 0.2108, 0.2117, 0.2116, 0.2130, 0.2131, 0.2134],
    [0.2086, 0.2109, 0.2100, 0.2111, 0.2079, 0.2094, 0.2090, 0.2104, 0.2094, 0.2104])
OVERFITTING = Curve(  # 50 epochs, create_outliers=True
    [0.4868, 0.5063, 0.5161, 0.5253, 0.5403, 0.5519, 0.5557, 0.5857, 0.5877, 0.6187, 0.6122,
     0.6636, 0.6808, 0.6864, 0.7089, 0.7197, 0.7663, 0.7860, 0.8091, 0.8249, 0.8390, 0.8325,
     0.8649, 0.8951, 0.9065, 0.9084, 0.9273, 0.9330, 0.9493, 0.9565, 0.9604, 0.9636, 0.9566,
     0.9696, 0.9702, 0.9760, 0.9725, 0.9735, 0.9805, 0.9779, 0.9788, 0.9771, 0.9790, 0.9837,
     0.9850, 0.9859, 0.9859, 0.9858, 0.9870, 0.9899],
    [0.8271, 0.8406, 0.8385, 0.8416, 0.8326, 0.7945, 0.7870, 0.8047, 0.7749, 0.7550, 0.7252,
     0.7686, 0.7438, 0.7060, 0.6793, 0.6629, 0.6637, 0.6829, 0.6338, 0.6590, 0.6429, 0.6018,
     0.6093, 0.6377, 0.5840, 0.6249, 0.6517, 0.6289, 0.6568, 0.6318, 0.6577, 0.6595, 0.6285,
     0.6298, 0.6482, 0.6378, 0.6288, 0.6488, 0.6380, 0.6522, 0.6229, 0.6455, 0.6625, 0.6265,
     0.6150, 0.6467, 0.6465, 0.6454, 0.6300, 0.6450])
NAN = Curve([0.5, 0.098], [0.5, 0.098], nonfinite_loss=True)


def test_the_seed_reports_claims_are_recognised():
    assert slow(SLOW, BASELINE), slow(SLOW, BASELINE).why
    assert converges_with_oscillations(OSCILLATING), converges_with_oscillations(OSCILLATING).why
    assert diverges(DIVERGING), diverges(DIVERGING).why
    assert underfits(UNDERFITTING, BASELINE), underfits(UNDERFITTING, BASELINE).why
    assert overfits(OVERFITTING), overfits(OVERFITTING).why


@pytest.mark.parametrize("name,curve", [("baseline", BASELINE), ("oscillating", OSCILLATING),
                                        ("diverging", DIVERGING)])
def test_slow_needs_a_slow_curve(name, curve):
    assert not slow(curve, BASELINE)


@pytest.mark.parametrize("name,curve", [("baseline", BASELINE), ("slow", SLOW),
                                        ("diverging", DIVERGING), ("underfitting", UNDERFITTING)])
def test_oscillating_needs_a_fall_and_convergence(name, curve):
    assert not converges_with_oscillations(curve)


@pytest.mark.parametrize("name,curve", [("baseline", BASELINE), ("slow", SLOW),
                                        ("oscillating", OSCILLATING),
                                        ("underfitting", UNDERFITTING)])
def test_diverging_needs_chance_level_or_a_collapse(name, curve):
    assert not diverges(curve)


def test_divergence_by_nan_and_by_collapse():
    assert "NaN" in diverges(NAN).why
    collapse = Curve([0.9, 0.95, 0.6], [0.9, 0.95, 0.6])
    assert diverges(collapse) and "collapsed" in diverges(collapse).why


@pytest.mark.parametrize("name,curve", [("baseline", BASELINE), ("slow", SLOW),
                                        ("oscillating", OSCILLATING)])
def test_underfitting_needs_a_far_lower_training_accuracy(name, curve):
    assert not underfits(curve, BASELINE)
    assert not underfits(NAN, BASELINE)


@pytest.mark.parametrize("name,curve", [("baseline", BASELINE), ("slow", SLOW),
                                        ("oscillating", OSCILLATING), ("diverging", DIVERGING),
                                        ("underfitting", UNDERFITTING)])
def test_overfitting_needs_test_accuracy_to_fall_while_train_rises(name, curve):
    assert not overfits(curve)


def test_messages_give_the_numbers():
    why = slow(BASELINE, BASELINE).why
    assert "only 0.00 points behind" in why
    assert "5.8 points on average" in slow(SLOW, BASELINE).why
    assert "falls" not in overfits(BASELINE).why or "fall" in overfits(BASELINE).why
    assert math.isclose(len(OVERFITTING.train), 50)


# The grader's own runs (notebook MLP, batch 32, seed 0, CPU): learning rate 0.01 ends near
# 0.1's final accuracy but is behind at every epoch; both saturate.
OURS_BASELINE = Curve(
    [0.9710, 0.9810, 0.9942, 0.9989, 0.9997, 1.0, 1.0, 1.0, 1.0, 1.0],
    [0.9603, 0.9679, 0.9744, 0.9779, 0.9806, 0.9807, 0.9811, 0.9812, 0.9808, 0.9815])
OURS_SLOW = Curve(
    [0.9471, 0.9635, 0.9746, 0.9805, 0.9841, 0.9877, 0.9907, 0.9917, 0.9941, 0.9945],
    [0.9370, 0.9510, 0.9580, 0.9619, 0.9652, 0.9674, 0.9684, 0.9692, 0.9712, 0.9718])


def test_slow_is_about_the_whole_curve_not_the_end():
    assert slow(OURS_SLOW, OURS_BASELINE), slow(OURS_SLOW, OURS_BASELINE).why
    assert not slow(OURS_BASELINE, OURS_SLOW)
    assert "ahead of the baseline at epoch 0" in slow(OURS_BASELINE, OURS_SLOW).why


def test_a_curve_needs_matching_lengths():
    with pytest.raises(ValueError):
        Curve([0.5, 0.6], [0.5])
