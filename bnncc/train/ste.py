"""Sign with 0 -> +1 in the forward pass and a selectable straight-through estimator (STE) backward.

Every variant has the same forward; only dq/dx differs (closed forms, see `ste_derivative`):
    identity   1
    clipped    1 if |x| <= c else 0                       (c = 1 by default)
    approx     2 - 2|x| if |x| <= 1 else 0               (Bi-Real ApproxSign, piecewise quadratic forward proxy)
    swish      beta * (2 - beta*x*tanh(beta*x/2)) / (1 + cosh(beta*x))   (SwishSign, BNN+)
"""

from __future__ import annotations

import torch

STE_KINDS = ("identity", "clipped", "approx", "swish")


def sign_zero_plus(x: torch.Tensor) -> torch.Tensor:
    """+1 where x >= 0, -1 elsewhere (0 -> +1, the bnncc bit convention; torch.sign would give 0)."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


def ste_derivative(x: torch.Tensor, kind: str, clip: float = 1.0, beta: float = 5.0) -> torch.Tensor:
    """The pseudo-derivative dq/dx that the backward pass multiplies the incoming gradient by."""
    if kind == "identity":
        return torch.ones_like(x)
    if kind == "clipped":
        return (x.abs() <= clip).to(x.dtype)
    if kind == "approx":
        return torch.clamp(2.0 - 2.0 * x.abs(), min=0.0)
    if kind == "swish":
        bx = beta * x
        return beta * (2.0 - bx * torch.tanh(bx / 2.0)) / (1.0 + torch.cosh(bx))
    raise ValueError(f"unknown STE kind '{kind}', expected one of {STE_KINDS}")


class SignSTE(torch.autograd.Function):
    """Forward: sign with 0 -> +1. Backward: grad * ste_derivative(x, kind)."""

    @staticmethod
    def forward(ctx, x, kind: str, clip: float, beta: float):  # noqa: D401 - autograd signature
        ctx.save_for_backward(x)
        ctx.kind, ctx.clip, ctx.beta = kind, clip, beta
        return sign_zero_plus(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * ste_derivative(x, ctx.kind, ctx.clip, ctx.beta), None, None, None


def sign_ste(x: torch.Tensor, kind: str = "clipped", clip: float = 1.0, beta: float = 5.0) -> torch.Tensor:
    if kind not in STE_KINDS:
        raise ValueError(f"unknown STE kind '{kind}', expected one of {STE_KINDS}")
    return SignSTE.apply(x, kind, clip, beta)
