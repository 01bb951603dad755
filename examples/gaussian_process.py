"""Gaussian-process regression in plain NumPy: an RBF kernel, the negative log marginal
likelihood through ``np.linalg.cholesky`` and ``np.linalg.solve``, its hyperparameters fitted by
gradient descent, and the posterior mean and variance. graphc compiles and differentiates the
same functions unchanged (only ``import graphc`` is added, in ``main``).

    python examples/gaussian_process.py
"""

import numpy as np


def rbf(x1, x2, log_ell, log_sf):
    """k(a, b) = sf**2 exp(-|a - b|**2 / (2 ell**2)) between the rows of x1 and x2."""
    d2 = np.sum((x1[:, None, :] - x2[None, :, :]) ** 2, axis=-1)
    return np.exp(2 * log_sf) * np.exp(-0.5 * d2 / np.exp(2 * log_ell))


def covariance(params, x):
    log_ell, log_sf, log_sn = params[0], params[1], params[2]
    return rbf(x, x, log_ell, log_sf) + (np.exp(2 * log_sn) + 1e-8) * np.eye(x.shape[0])


def neg_log_marginal_likelihood(params, x, y):
    """-log N(y; 0, K): 0.5 y^T K^-1 y + sum(log diag L) + n/2 log(2 pi), K = L L^T."""
    L = np.linalg.cholesky(covariance(params, x))
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * x.shape[0] * np.log(2 * np.pi)


def neg_log_marginal_likelihood_slogdet(params, x, y):
    """The same number through ``slogdet`` and one ``solve`` with K."""
    K = covariance(params, x)
    _, logdet = np.linalg.slogdet(K)
    return 0.5 * y @ np.linalg.solve(K, y) + 0.5 * logdet + 0.5 * x.shape[0] * np.log(2 * np.pi)


def predict(params, x, y, x_new):
    """The posterior mean and variance at the rows of ``x_new``."""
    K = covariance(params, x)
    Ks = rbf(x_new, x, params[0], params[1])
    L = np.linalg.cholesky(K)
    v = np.linalg.solve(L, Ks.T)
    mean = Ks @ np.linalg.solve(L.T, np.linalg.solve(L, y))
    var = np.exp(2 * params[1]) - np.sum(v * v, axis=0)
    return mean, var


def data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3, 3, n))[:, None]
    y = np.sin(2 * x[:, 0]) + 0.1 * rng.normal(size=n)
    return x, y


def main(n=30, steps=60, lr=0.02, seed=0):
    import graphc as gc

    x, y = data(n, seed)
    params = np.array([0.0, 0.0, -1.0])  # log lengthscale, log signal sd, log noise sd
    step = gc.jit(gc.value_and_grad(neg_log_marginal_likelihood))
    losses = []
    for _ in range(steps):
        value, g = step(params, x, y)
        losses.append(float(value))
        params = params - lr * g
    mean, var = gc.jit(predict)(params, x, y, x)
    rmse = float(np.sqrt(np.mean((mean - np.sin(2 * x[:, 0])) ** 2)))
    print(f"-log p(y): {losses[0]:.3f} -> {losses[-1]:.3f}; lengthscale {np.exp(params[0]):.3f}, "
          f"noise sd {np.exp(params[2]):.3f}; fit rmse vs sin(2x) {rmse:.3f}")
    return losses, params, (x, y), (mean, var)


if __name__ == "__main__":
    main()
