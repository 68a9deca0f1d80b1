#!/usr/bin/python3
"""Reference values for @refit/ml's always-valid sequential tests. Standard library only.

Run with Debian's interpreter (no numpy or scipy needed):
    /usr/bin/python3 libs/ml/scripts/make-sequential-reference.py
Writes libs/ml/src/__fixtures__/sequential-reference.json. Deterministic.

Four kinds of numbers:

- "published": the target values of confseq's unit tests (Howard, Waudby-Smith & Ramdas,
  github.com/gostevehoward/confseq, test/uniform_boundaries_unittest.cpp: "all target values are
  from a reference implementation in R"), for the normal mixtures of Howard, Ramdas, McAuliffe &
  Sekhon (2021), "Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist.
  49(2). Copied verbatim; this script first checks its own formulas against them (1e-5, their
  tolerance).
- "normalMixture": a grid of the same quantities from the formulas written out below (one- and
  two-sided log mixture, boundaries, best rho), to full double precision.
- "msprt": the mixture likelihood ratio of Johari, Pekelis & Walsh (2022), "Always valid
  inference: continuous monitoring of A/B tests", Oper. Res. 70(3), in the paper's own
  parameterization (n, estimate, theta0, per-observation variance V, mixing variance tau^2),
  and the always-valid p-value p_n = min(p_{n-1}, 1 / Lambda_n) over a sequence of looks.
- "sequential": whole looks of the two-sample test of @refit/ml (worsening of a candidate's
  mean against a reference's beyond a margin, information = 1 / Var, rho = 1 / tau^2), computed
  here independently from the per-arm counts, means and variances.
"""
import json
import math
import os
import sys

OUT = os.path.join(os.path.dirname(__file__), '..', 'src', '__fixtures__', 'sequential-reference.json')

# --- Howard et al. (2021), normal mixtures (their section 3.2; confseq's uniform_boundaries.h) ---


def best_rho_two_sided(v_opt, alpha):
    """rho that makes the two-sided boundary tightest at intrinsic time v_opt (confseq's best_rho)."""
    l = math.log(1 / alpha)
    return v_opt / (2 * l + math.log(1 + 2 * l))


def best_rho_one_sided(v_opt, alpha):
    return best_rho_two_sided(v_opt, 2 * alpha)


def log_phi(x):
    """log of the standard normal CDF (fine down to x = -37)."""
    return math.log(0.5 * math.erfc(-x / math.sqrt(2)))


def log_mixture_two_sided(s, v, rho):
    return 0.5 * math.log(rho / (v + rho)) + s * s / (2 * (v + rho))


def log_mixture_one_sided(s, v, rho):
    return 0.5 * math.log(4 * rho / (v + rho)) + s * s / (2 * (v + rho)) + log_phi(s / math.sqrt(v + rho))


def bound_two_sided(v, log_threshold, rho):
    return math.sqrt((v + rho) * (math.log(1 + v / rho) + 2 * log_threshold))


def bound_one_sided(v, log_threshold, rho):
    """Root of log_mixture_one_sided(s, v) = log_threshold by bisection to machine precision."""
    hi = max(v, 1.0)
    while log_mixture_one_sided(hi, v, rho) <= log_threshold:
        hi *= 2
    lo = 0.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if log_mixture_one_sided(mid, v, rho) < log_threshold:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


PUBLISHED = {
    'source': 'confseq test/uniform_boundaries_unittest.cpp (MixtureTest.TestTwoSidedNormalMixture, TestOneSidedNormalMixture); tolerance 1e-5',
    'vOpt': 100,
    'alphaOpt': 0.05,
    'twoSided': {'bestRho': 12.60056, 'logMixture': {'s': 10, 'v': 100, 'value': -0.6510052}, 'bound': {'v': 100, 'alpha': 0.05, 'value': 30.35209}},
    'oneSided': {'logMixture': {'s': 10, 'v': 100, 'value': -0.06502391}, 'bound': {'v': 100, 'alpha': 0.05, 'value': 27.66071}},
}


def check_published():
    p = PUBLISHED
    rho2 = best_rho_two_sided(p['vOpt'], p['alphaOpt'])
    rho1 = best_rho_one_sided(p['vOpt'], p['alphaOpt'])
    t = p['twoSided']
    o = p['oneSided']
    checks = [
        (rho2, t['bestRho']),
        (log_mixture_two_sided(t['logMixture']['s'], t['logMixture']['v'], rho2), t['logMixture']['value']),
        (bound_two_sided(t['bound']['v'], math.log(1 / t['bound']['alpha']), rho2), t['bound']['value']),
        (log_mixture_one_sided(o['logMixture']['s'], o['logMixture']['v'], rho1), o['logMixture']['value']),
        (bound_one_sided(o['bound']['v'], math.log(1 / o['bound']['alpha']), rho1), o['bound']['value']),
    ]
    for got, want in checks:
        assert abs(got - want) <= 1e-5, (got, want)


def normal_mixture_grid():
    out = {'bestRho': [], 'logMixture': [], 'bound': []}
    for v_opt in [10, 100, 2500, 1e5]:
        for alpha in [0.01, 0.05, 0.1]:
            out['bestRho'].append({'vOpt': v_opt, 'alpha': alpha, 'twoSided': best_rho_two_sided(v_opt, alpha), 'oneSided': best_rho_one_sided(v_opt, alpha)})
    for rho in [0.5, 12.6, 400, 2500]:
        for v in [1, 37.5, 100, 1000, 2e4]:
            for s in [-250, -30, -3, 0, 2.5, 10, 60, 400]:
                # Keep log_phi's argument where math.erfc is still a normal double.
                if s / math.sqrt(v + rho) < -37:
                    continue
                out['logMixture'].append({'s': s, 'v': v, 'rho': rho, 'twoSided': log_mixture_two_sided(s, v, rho), 'oneSided': log_mixture_one_sided(s, v, rho)})
            for alpha in [0.001, 0.025, 0.05, 0.2]:
                lt = math.log(1 / alpha)
                out['bound'].append({'v': v, 'rho': rho, 'alpha': alpha, 'twoSided': bound_two_sided(v, lt, rho), 'oneSided': bound_one_sided(v, lt, rho)})
    return out


# --- Johari, Pekelis & Walsh (2022): the mSPRT in the paper's parameterization ---


def msprt_lambda(n, estimate, theta0, variance, tau):
    """Lambda_n = sqrt(V / (V + n tau^2)) exp(n^2 tau^2 (estimate - theta0)^2 / (2 V (V + n tau^2)))."""
    V = variance
    t2 = tau * tau
    exponent = n * n * t2 * (estimate - theta0) ** 2 / (2 * V * (V + n * t2))
    if exponent > 690:
        return math.inf
    return math.sqrt(V / (V + n * t2)) * math.exp(exponent)


def msprt_cases():
    cases = []
    for n in [1, 20, 500, 10000]:
        for estimate, theta0 in [(0.0, 0.0), (0.03, 0.0), (-0.05, 0.01), (0.8, 0.75), (2.5, 0.0)]:
            for variance in [0.04, 0.25, 2.0]:
                for tau in [0.01, 0.05, 1.0]:
                    lam = msprt_lambda(n, estimate, theta0, variance, tau)
                    if not math.isfinite(lam) or lam > 1e300:
                        continue
                    cases.append({'n': n, 'estimate': estimate, 'theta0': theta0, 'variance': variance, 'tau': tau, 'lambda': lam, 'logLambda': math.log(lam)})
    # A sequence of looks: the always-valid p-value is the running minimum of 1 / Lambda_n.
    looks = [(100, 0.02), (250, 0.035), (400, 0.01), (800, 0.045), (1600, 0.05), (3200, 0.012)]
    p = 1.0
    seq = []
    for n, est in looks:
        lam = msprt_lambda(n, est, 0.0, 0.3, 0.05)
        p = min(p, 1 / lam)
        seq.append({'n': n, 'estimate': est, 'lambda': lam, 'pValue': min(1.0, p)})
    return {'cases': cases, 'sequence': {'theta0': 0.0, 'variance': 0.3, 'tau': 0.05, 'looks': seq}}


# --- Whole looks of the two-sample sequential test, from per-arm summaries ---


def two_sample_look(cand, ref, margin, higher_is_better, alpha, tau, prev):
    """One look: worsening = sign * (candidate mean - reference mean); H0: worsening <= margin."""
    n_c, mean_c, var_c = cand
    var_of = var_c / n_c
    if ref is None:
        raise ValueError('reference required')
    if isinstance(ref, float):
        mean_r = ref
    else:
        n_r, mean_r, var_r = ref
        var_of += var_r / n_r
    sign = -1.0 if higher_is_better else 1.0
    worse = sign * (mean_c - mean_r)
    info = 1 / var_of
    rho = 1 / (tau * tau)
    s = (worse - margin) * info
    log_e = log_mixture_one_sided(s, info, rho)
    p = min(prev['pValue'], 1.0, math.exp(-log_e))
    u = bound_one_sided(info, math.log(1 / alpha), rho)
    lower = max(prev['lower'], worse - u / info)
    upper = min(prev['upper'], worse + u / info)
    return {'worsening': worse, 'information': info, 'logE': log_e, 'pValue': p, 'lower': lower, 'upper': upper}


def sequential_cases():
    cases = []
    # Accuracy of a live model (higher is better) against its warm-up rows; variances are the
    # sample variances (n - 1) of 0/1 rows with k successes: k (n - k) / (n (n - 1)).
    def bern(n, k):
        return (n, k / n, k * (n - k) / (n * (n - 1)))

    specs = [
        {'name': 'accuracy-vs-warmup', 'higherIsBetter': True, 'margin': 0.05, 'alpha': 0.05, 'tau': 0.05,
         'reference': bern(500, 405), 'candidate': [bern(60, 47), bern(180, 131), bern(400, 268), bern(900, 580)]},
        {'name': 'logloss-vs-declared', 'higherIsBetter': False, 'margin': 0.02, 'alpha': 0.01, 'tau': 0.04,
         'reference': 0.45, 'candidate': [(50, 0.52, 0.31), (200, 0.49, 0.28), (1000, 0.5, 0.3), (4000, 0.505, 0.29)]},
        {'name': 'candidate-vs-champion', 'higherIsBetter': True, 'margin': 0.02, 'alpha': 0.05, 'tau': 0.02,
         'reference': [bern(300, 231), bern(900, 700), bern(2000, 1560)], 'candidate': [bern(40, 29), bern(150, 108), bern(400, 292)]},
    ]
    for sp in specs:
        prev = {'pValue': 1.0, 'lower': -math.inf, 'upper': math.inf}
        looks = []
        for i, cand in enumerate(sp['candidate']):
            ref = sp['reference'][i] if isinstance(sp['reference'], list) else sp['reference']
            r = two_sample_look(cand, ref, sp['margin'], sp['higherIsBetter'], sp['alpha'], sp['tau'], prev)
            prev = r
            looks.append({'candidate': list(cand), 'reference': ref if isinstance(ref, float) else list(ref), **r})
        cases.append({'name': sp['name'], 'higherIsBetter': sp['higherIsBetter'], 'margin': sp['margin'], 'alpha': sp['alpha'], 'tau': sp['tau'], 'looks': looks})
    return cases


def main():
    check_published()
    out = {
        'meta': {'generator': 'libs/ml/scripts/make-sequential-reference.py', 'python': sys.version.split()[0]},
        'published': PUBLISHED,
        'normalMixture': normal_mixture_grid(),
        'msprt': msprt_cases(),
        'sequential': sequential_cases(),
    }
    with open(OUT, 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
