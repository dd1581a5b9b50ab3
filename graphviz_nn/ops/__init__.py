"""The op registry: one entry per expression primitive — its forward rule, local derivatives or
vector-Jacobian product, gate kind, and the texts captions and --explain use.

One table, OPS, filled by the modules of each family: core (the Op record, register, the shared
helpers), elementary (arithmetic, literal gates, @, exp, log, …), activations, tensor (reductions, indexing, batchnorm),
conv (conv2d, maxpool, avgpool, flatten, and the windows each output cell reads)."""
from __future__ import annotations

from .core import (ADD, COMPOSITE, DIES, LOCAL, MATMUL, MAX, MUL, OPS, SATURATES, Op, call, const, elementwise,
                   infix, local_derivative, num, register, unary, unbroadcast)
from .elementary import matmul_forward, matmul_shape, matmul_vjp
from .activations import sigmoid, softmax_forward, softmax_vjp
from .tensor import key_text
from .conv import conv_windows, pool_windows

# The functions an expression may call, by the name the user types.
FUNCTIONS = ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "step",
             "leaky_relu", "prelu", "softplus", "swish", "mish", "elu", "gelu",
             "max", "min", "sum", "mean", "var", "softmax", "batchnorm",
             "conv2d", "maxpool", "avgpool", "flatten")

__all__ = ["ADD", "COMPOSITE", "DIES", "LOCAL", "MATMUL", "MAX", "MUL", "OPS", "SATURATES", "Op", "FUNCTIONS",
           "call", "const", "elementwise", "infix", "local_derivative", "num", "register", "unary",
           "unbroadcast", "matmul_forward", "matmul_shape", "matmul_vjp", "sigmoid", "softmax_forward",
           "softmax_vjp", "key_text", "conv_windows", "pool_windows"]
