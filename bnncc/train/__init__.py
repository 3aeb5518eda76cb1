"""PyTorch side of bnncc: binary layers, Bop optimizers, models, ONNX export, data and the `train` command.

Nothing here is imported by `import bnncc`: the compiler works without torch. Import the submodules
(`bnncc.train.layers`, `bnncc.train.optim`, ...) directly; each of them imports torch.
"""
