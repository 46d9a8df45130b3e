# expect-fail: predict, loss, update, stax.serial, loss (Problem 2)
# bug: the MLP of Problem 1 written in PyTorch (a torch.nn module and its training loop), not JAX
# expect-hint: predict: This file is written for PyTorch
import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 1024)
        self.out = nn.Linear(1024, 10)

    def forward(self, x):
        return F.log_softmax(self.out(torch.tanh(self.hidden(x))), dim=1)


def train(model, loader, epochs=10, learning_rate=0.1):
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            F.nll_loss(model(x.view(-1, 784)), y).backward()
            optimizer.step()
    return model
