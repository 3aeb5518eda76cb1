"""Bop, Bop2ndOrder and PBop: optimizers for genuinely binary weights, plus the parameter split helper.

Notation: w in {-1, +1}, g = dL/dw (the STE pseudo-gradient), sgn with 0 -> +1.

Bop (Helwegen et al. 2019):
    m <- (1 - gamma) m + gamma g
    flip w (w <- -w) iff w * m > tau      (i.e. |m| > tau and sign(m) == sign(w))
Bop2ndOrder (Suarez-Ramirez et al. 2021):
    m <- (1 - gamma) m + gamma g
    v <- (1 - sigma) v + sigma g^2
    biased:    flip iff w * m / (sqrt(v) + eps) > tau
    unbiased:  flip iff w * (m / gamma) / (sqrt(v / sigma) + eps) > tau
The "unbiased" variant is the reference code's constant rescaling by the current gamma and sigma (not
Adam's 1 - beta^t correction); it is the biased rule with tau' ~ tau * gamma / sqrt(sigma).
A flip moves w against the averaged gradient: when m > 0 the loss falls as w decreases, so +1 -> -1.
PBop (bnncc's formulation of the thesis's probabilistic binary optimizer, docs/pbop.md): the parameter is a
logit theta, p(w = +1) = sigmoid(theta), and theta.grad holds g = dL/dw of the sampled weight:
    m <- (1 - gamma) m + gamma g                       (Bop's momentum; gamma = 1: none)
    theta <- theta - eta * 2 p (1 - p) * m             (chain rule through E[w] = 2p - 1, p before the step)
    theta <- clamp(theta, -theta_max, theta_max)       (only if theta_max is given)

Real parameters (BatchNorm, biases, latent weights) belong to a standard optimizer; `split_parameters`
separates them. The optimizers here ignore parameters without gradients.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

EPS = 1e-10  # the reference code's epsilon in sqrt(v) + eps


class _PerParameterOptimizer(torch.optim.Optimizer):
    """The loop every optimizer here shares: for each parameter with a gradient, `_update` it in place."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, self.state[param], group)
        return loss

    def _update(self, param: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError


def _momentum(state: dict, grad: torch.Tensor, gamma: float) -> torch.Tensor:
    """m <- (1 - gamma) m + gamma g, with m starting at zero."""
    if "m" not in state:
        state["m"] = torch.zeros_like(grad)
    return state["m"].mul_(1.0 - gamma).add_(grad, alpha=gamma)


class Bop(_PerParameterOptimizer):
    def __init__(self, params: Iterable[torch.Tensor], threshold: float = 1e-8, gamma: float = 1e-4):
        if threshold < 0 or not 0 < gamma <= 1:
            raise ValueError("Bop needs threshold >= 0 and 0 < gamma <= 1")
        super().__init__(params, dict(threshold=threshold, gamma=gamma))

    def _update(self, w, state, group):
        m = _momentum(state, w.grad, group["gamma"])
        w.copy_(torch.where(w * m > group["threshold"], -w, w))


class Bop2ndOrder(_PerParameterOptimizer):
    def __init__(self, params: Iterable[torch.Tensor], threshold: float = 1e-6, gamma: float = 1e-6,
                 sigma: float = 1e-2, bias_correction: bool = False):
        if threshold < 0 or not 0 < gamma <= 1 or not 0 < sigma <= 1:
            raise ValueError("Bop2ndOrder needs threshold >= 0, 0 < gamma <= 1 and 0 < sigma <= 1")
        super().__init__(params, dict(threshold=threshold, gamma=gamma, sigma=sigma,
                                      bias_correction=bias_correction))

    def _update(self, w, state, group):
        gamma, sigma = group["gamma"], group["sigma"]
        m = _momentum(state, w.grad, gamma)
        if "v" not in state:
            state["v"] = torch.zeros_like(w)
        v = state["v"].mul_(1.0 - sigma).addcmul_(w.grad, w.grad, value=sigma)
        if group["bias_correction"]:
            ratio = (m / gamma) / (torch.sqrt(v / sigma) + EPS)
        else:
            ratio = m / (torch.sqrt(v) + EPS)
        w.copy_(torch.where(w * ratio > group["threshold"], -w, w))


class PBop(_PerParameterOptimizer):
    def __init__(self, params: Iterable[torch.Tensor], eta: float = 1.0, gamma: float = 1e-1,
                 theta_max: float | None = None):
        if eta <= 0 or not 0 < gamma <= 1 or (theta_max is not None and theta_max <= 0):
            raise ValueError("PBop needs eta > 0, 0 < gamma <= 1 and theta_max > 0 (or None)")
        super().__init__(params, dict(eta=eta, gamma=gamma, theta_max=theta_max))

    def _update(self, theta, state, group):
        m = _momentum(state, theta.grad, group["gamma"])
        p = torch.sigmoid(theta)
        theta.sub_(group["eta"] * 2.0 * p * (1.0 - p) * m)
        if group["theta_max"] is not None:
            theta.clamp_(-group["theta_max"], group["theta_max"])


def split_parameters(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(binary, real): +-1 weights for Bop (or PBop's logits); everything else (BN, biases, latent or real
    layers) for Adam."""
    from bnncc.train.layers import weight_parameters

    binary = weight_parameters(model, "binary") + weight_parameters(model, "pbop")
    binary_ids = {id(p) for p in binary}
    real = [p for p in model.parameters() if id(p) not in binary_ids]
    return binary, real
