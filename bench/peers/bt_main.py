"""facebookresearch/barlowtwins main.py's loss and LARS, shared by the Python peers and experiments
(bench/peers/bt_parity.py, pretrain_torch.py, demo_torch.py, bench/experiments/bt_recipe.py).

- The loss (`BarlowTwins.forward` on one process, where all_reduce is the identity): each view's
  embeddings through BatchNorm1d without affine parameters on batch statistics (eps 1e-5, biased
  variance), c = bn(z1).T @ bn(z2) / B, loss = sum (c_ii - 1)^2 + lambd * sum_{i != j} c_ij^2, the
  off-diagonal taken as main.py's `off_diagonal` does.
- LARS as main.py builds it: two parameter groups by ndim, weight decay and the trust ratio
  (eta * |w| / |dw|, 1 when either norm is 0) only for parameters with ndim != 1, momentum 0.9.
  main.py's default weight decay is 0 here too; main.py's training passes 1e-6.

Import from a sibling folder with sys.path.insert(0, <this folder>).
"""
import torch
import torch.nn.functional as F


def off_diagonal(x):
    # main.py: a flattened view without the diagonal of a square matrix
    n, m = x.shape
    assert n == m
    return x.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


def cross_corr(z1, z2):
    """main.py's cross-correlation c of two views' embeddings [B, D] (train-mode BatchNorm1d, no affine)."""
    bn = lambda z: F.batch_norm(z, None, None, training=True, eps=1e-5)  # noqa: E731
    return bn(z1).T @ bn(z2) / z1.shape[0]


def bt_loss(z1, z2, lambd):
    c = cross_corr(z1, z2)
    on_diag = torch.diagonal(c).add(-1).pow(2).sum()
    off_diag = off_diagonal(c).pow(2).sum()
    return on_diag + lambd * off_diag


class LARS(torch.optim.Optimizer):
    def __init__(self, params, lr, weight_decay=0, momentum=0.9, eta=0.001):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, eta=eta))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g['params']:
                dp = p.grad
                if dp is None:
                    continue
                if p.ndim != 1:
                    dp = dp.add(p, alpha=g['weight_decay'])
                    param_norm = torch.norm(p)
                    update_norm = torch.norm(dp)
                    one = torch.ones_like(param_norm)
                    q = torch.where(param_norm > 0., torch.where(update_norm > 0, (g['eta'] * param_norm / update_norm), one), one)
                    dp = dp.mul(q)
                state = self.state[p]
                if 'mu' not in state:
                    state['mu'] = torch.zeros_like(p)
                mu = state['mu']
                mu.mul_(g['momentum']).add_(dp)
                p.add_(mu, alpha=-g['lr'])


def lars_groups(params):
    """main.py's two LARS parameter groups: weights (ndim != 1), then biases and BatchNorm (ndim == 1)."""
    params = list(params)
    return [{'params': [p for p in params if p.ndim != 1]}, {'params': [p for p in params if p.ndim == 1]}]
