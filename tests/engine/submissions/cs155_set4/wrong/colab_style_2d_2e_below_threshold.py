# expect-fail-gpu: build_model_2d, build_model_2e
# expect: full-marks-cpu
# (measured on an H200: 2D best 97.95/97.85/97.69 % of 98; 2E 97.97/97.93/98.13 % of 98.3)
# variety: a Colab export: !pip line, torchvision and matplotlib imports, device selection, and
#          a full training loop at top level that the grader must not run
!pip install torchvision
import torch
import torch.nn as nn
import torchvision
import matplotlib.pyplot as plt
from torchvision import datasets, transforms

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

TRAINING_2C = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_2D = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_2E = {"optimizer": "Adam", "lr": 1e-3, "epochs": 10, "batch_size": 32}
TRAINING_3G = {"optimizer": "Adam", "lr": 1e-3}


def build_model_2c():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))


def build_model_2d():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 120), nn.ReLU(), nn.Linear(120, 80),
                         nn.ReLU(), nn.Linear(80, 10))


def build_model_2e():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400),
                         nn.ReLU(), nn.Linear(400, 200), nn.ReLU(), nn.Linear(200, 10))


def build_model_3g():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(16, 32, 3), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(32 * 5 * 5, 10),
    )


train_loader = torch.utils.data.DataLoader(
    datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor()),
    batch_size=32, shuffle=True)
model = build_model_2c().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
plt.plot([1, 2, 3])
plt.show()
