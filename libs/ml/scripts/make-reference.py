#!/usr/bin/python3
"""Generate reference vectors for @refit/ml tests from scipy / scikit-learn / numpy.

Run with Debian's interpreter (apt-get install python3-scipy python3-sklearn):
    /usr/bin/python3 libs/ml/scripts/make-reference.py
Writes libs/ml/src/__fixtures__/reference.json. Deterministic (fixed seeds).
Versions used are recorded in the output's "meta".
"""
import json
import os
import sys
from math import gcd

import numpy as np
import scipy
import sklearn
from scipy import stats, special
from scipy.spatial import distance
from scipy.stats._stats_py import _attempt_exact_2kssamp
from sklearn import metrics
from sklearn.calibration import calibration_curve

rs = np.random.RandomState(20240601)
OUT = os.path.join(os.path.dirname(__file__), '..', 'src', '__fixtures__', 'reference.json')


def f(x):
    return [float(v) for v in x]


def binary_case(name, y, p, threshold=0.5):
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    pred = (p >= threshold).astype(int)
    tn, fp, fn, tp = metrics.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    single = len(set(y.tolist())) < 2
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    ll = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
    # calibration_curve drops empty bins; ECE = sum over kept bins of count/n * |frac_pos - mean_pred|.
    if not single:
        prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy='uniform')
        bins = np.linspace(0.0, 1.0, 11)
        ids = np.searchsorted(bins[1:-1], p)  # side='left', as calibration_curve
        counts = np.bincount(ids, minlength=10)
        counts = counts[counts > 0]
        ece = float(np.sum(counts / len(p) * np.abs(prob_true - prob_pred)))
    else:
        ece = None
    return {
        'name': name, 'yTrue': y.tolist(), 'yProb': f(p), 'threshold': threshold,
        'confusion': {'tp': int(tp), 'fp': int(fp), 'tn': int(tn), 'fn': int(fn)},
        'accuracy': float(metrics.accuracy_score(y, pred)),
        'precision': float(metrics.precision_score(y, pred, zero_division=0)),
        'recall': float(metrics.recall_score(y, pred, zero_division=0)),
        'f1': float(metrics.f1_score(y, pred, zero_division=0)),
        'rocAuc': None if single else float(metrics.roc_auc_score(y, p)),
        'averagePrecision': None if y.sum() == 0 else float(metrics.average_precision_score(y, p)),
        'logLoss': ll,
        'logLossSklearn': None if single else float(metrics.log_loss(y, p, labels=[0, 1])),
        'brier': float(metrics.brier_score_loss(y, p)),
        'ece': ece,
    }


def binary_cases():
    out = []
    for i, n in enumerate([20, 57, 200, 600]):
        y = rs.binomial(1, 0.35, n)
        p = np.clip(rs.beta(2, 3, n) + 0.25 * y, 0, 1)
        out.append(binary_case(f'random-{n}', y, p))
    y = rs.binomial(1, 0.5, 300)
    out.append(binary_case('rounded-ties', y, np.round(rs.uniform(0, 1, 300) * 0.6 + 0.4 * y, 1)))
    out.append(binary_case('all-equal-scores', rs.binomial(1, 0.4, 50), np.full(50, 0.3)))
    out.append(binary_case('edge-probabilities', [0, 1, 1, 0, 1, 0, 0, 1], [0.0, 1.0, 0.0, 1.0, 0.5, 0.5, 0.1, 0.9]))
    out.append(binary_case('on-bin-edges', rs.binomial(1, 0.5, 100), np.round(rs.randint(0, 11, 100) / 10, 10)))
    out.append(binary_case('threshold-0.3', rs.binomial(1, 0.3, 150), rs.uniform(0, 1, 150), threshold=0.3))
    out.append(binary_case('all-positive', np.ones(10, dtype=int), rs.uniform(0, 1, 10)))
    out.append(binary_case('all-negative', np.zeros(10, dtype=int), rs.uniform(0, 1, 10)))
    y = rs.binomial(1, 0.2, 3000)
    out.append(binary_case('heavy-ties-3000', y, np.round(np.clip(rs.normal(0.4 + 0.15 * y, 0.15), 0, 1) * 4) / 4))
    out.append(binary_case('tiny-probabilities', rs.binomial(1, 0.5, 40), 10.0 ** -rs.uniform(1, 20, 40)))
    return out


def regression_cases():
    out = []
    for n in [5, 40, 300]:
        y = rs.normal(3, 2, n)
        yp = y + rs.normal(0, 1.5, n)
        out.append({'yTrue': f(y), 'yPred': f(yp), 'mae': float(metrics.mean_absolute_error(y, yp)),
                    'rmse': float(np.sqrt(metrics.mean_squared_error(y, yp))), 'r2': float(metrics.r2_score(y, yp))})
    y = np.full(6, 2.5)
    yp = y + np.arange(6) * 0.1
    out.append({'yTrue': f(y), 'yPred': f(yp), 'mae': float(metrics.mean_absolute_error(y, yp)),
                'rmse': float(np.sqrt(metrics.mean_squared_error(y, yp))), 'r2': float(metrics.r2_score(y, yp))})
    return out


def psi_numpy(ref, cur, bins=10, eps=1e-4):
    """Independent numpy implementation of the documented PSI definition."""
    ref = np.sort(np.asarray(ref, dtype=float))
    qs = np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1])
    cuts = []
    for q in qs:
        if not cuts or q > cuts[-1]:
            cuts.append(float(q))
    if ref[0] == ref[-1]:
        cuts = [float(np.nextafter(ref[0], -np.inf)), float(ref[0])]
    elif not cuts:
        cuts = [float(np.quantile(ref, 0.5))]
    cuts_a = np.array(cuts)
    # right-closed bins: index = number of cuts strictly below the value
    r = np.bincount(np.searchsorted(cuts_a, ref, side='left'), minlength=len(cuts) + 1) / len(ref)
    c = np.bincount(np.searchsorted(cuts_a, cur, side='left'), minlength=len(cuts) + 1) / len(cur)
    rr = np.where(r == 0, eps, r)
    cc = np.where(c == 0, eps, c)
    return {'value': float(np.sum((cc - rr) * np.log(cc / rr))), 'edges': cuts, 'referenceShares': f(r), 'currentShares': f(c)}


def psi_cases():
    out = []
    for name, ref, cur, bins in [
        ('normal-shift', rs.normal(0, 1, 500), rs.normal(0.3, 1.1, 400), 10),
        ('same', rs.normal(0, 1, 300), rs.normal(0, 1, 300), 10),
        ('bins-5', rs.exponential(1, 200), rs.exponential(1.5, 250), 5),
        ('ties', rs.poisson(1.2, 300).astype(float), rs.poisson(2, 300).astype(float), 10),
        ('constant-reference', np.full(50, 3.0), np.array([2.0, 3.0, 3.0, 4.0, 5.0]), 10),
        ('empty-current-bins', rs.uniform(0, 1, 200), rs.uniform(0.8, 1.2, 100), 10),
    ]:
        out.append({'name': name, 'reference': f(ref), 'current': f(cur), 'bins': bins, **psi_numpy(ref, cur, bins)})
    return out


def ks_cases():
    data = []
    sizes = [(5, 7), (8, 8), (10, 25), (30, 30), (40, 27), (120, 90), (200, 200), (350, 160)]
    for n1, n2 in sizes:
        a = rs.normal(0, 1, n1)
        b = rs.normal(0.4, 1.2, n2)
        r = stats.ks_2samp(a, b)
        data.append({'a': f(a), 'b': f(b), 'statistic': float(r.statistic), 'pValue': float(r.pvalue)})
    a = rs.randint(0, 6, 60).astype(float)
    b = rs.randint(1, 7, 45).astype(float)
    r = stats.ks_2samp(a, b)
    data.append({'a': f(a), 'b': f(b), 'statistic': float(r.statistic), 'pValue': float(r.pvalue), 'ties': True})
    a = rs.normal(0, 1, 80)
    b = rs.normal(0, 1, 12000)
    r = stats.ks_2samp(a, b)
    # large sample stored only through its statistic (asymptotic branch), see pvalues below.
    exact = []
    for n1, n2 in [(10, 10), (7, 13), (50, 50), (100, 101), (250, 333), (1000, 1000), (999, 1500), (3000, 2000),
                   (10000, 10000), (10000, 9999), (37, 5000)]:
        g = gcd(n1, n2)
        lcm = (n1 // g) * n2
        for frac in [0.2, 0.5, 1.0, 1.6, 2.5]:
            d = frac * np.sqrt((n1 + n2) / (n1 * n2))
            h = int(np.round(d * lcm))
            d = h / lcm
            if not 0 < d < 1:
                continue
            ok, dd, p = _attempt_exact_2kssamp(n1, n2, g, d, 'two-sided')
            if ok:
                exact.append({'n1': n1, 'n2': n2, 'd': float(dd), 'p': float(p)})
    asymp = []
    for n1, n2 in [(20000, 15000), (1000000, 1000000), (50, 20000), (12000, 11000), (200000, 150)]:
        for frac in [0.3, 0.9, 1.3, 2.0, 4.0]:
            d = frac * np.sqrt((n1 + n2) / (n1 * n2))
            m, n = sorted([float(n1), float(n2)], reverse=True)
            en = m * n / (m + n)
            asymp.append({'n1': n1, 'n2': n2, 'd': float(d), 'p': float(stats.kstwo.sf(d, np.round(en)))})
    kstwo = []
    for n in [1, 2, 5, 10, 33, 100, 140, 141, 500, 1000, 5000, 20000, 100000, 100001, 500000]:
        for x in [0.3 / n, 0.7 / n, 1.5 / n, 0.01, 0.05, 0.1, 0.2, 0.4, 0.6, 0.9, 0.5 / np.sqrt(n), 1 / np.sqrt(n), 1.5 / np.sqrt(n), 3 / np.sqrt(n)]:
            if 0 < x < 1:
                kstwo.append({'n': n, 'x': float(x), 'sf': float(stats.kstwo.sf(x, n))})
    return {'data': data, 'exact': exact, 'asymptotic': asymp, 'kstwo': kstwo}


def special_cases():
    chi2 = []
    for df in [1, 2, 3, 5, 10, 30, 100]:
        for x in [0.01, 0.5, 1, 3.84, 7, 20, 60, 150]:
            chi2.append({'x': x, 'df': df, 'sf': float(stats.chi2.sf(x, df))})
    normal = [{'z': z, 'cdf': float(stats.norm.cdf(z)), 'sf': float(stats.norm.sf(z))} for z in [-8, -3, -1.96, -0.5, 0, 0.3, 1, 2.5, 6, 10]]
    ppf = [{'p': p, 'z': float(stats.norm.ppf(p))} for p in [1e-12, 1e-5, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999]]
    lg = [{'x': x, 'value': float(special.gammaln(x))} for x in [0.01, 0.5, 1, 1.5, 3, 7.5, 11.99, 12, 25.5, 171, 1e4, 1e7]]
    kb = [{'z': z, 'sf': float(stats.kstwobign.sf(z))} for z in [0.1, 0.3, 0.5, 0.8, 1.0, 1.36, 2, 3]]
    return {'chi2': chi2, 'normal': normal, 'normalPpf': ppf, 'logGamma': lg, 'kolmogorovLimit': kb}


def categorical_cases():
    out = []
    cats = np.array(['a', 'b', 'c', 'd', 'e'])
    for name, pr, pc, n1, n2 in [('shift', [.3, .3, .2, .1, .1], [.2, .3, .2, .2, .1], 400, 300),
                                 ('same', [.5, .2, .2, .05, .05], [.5, .2, .2, .05, .05], 200, 250),
                                 ('two-cats', [.6, .4, 0, 0, 0], [.5, .5, 0, 0, 0], 120, 90),
                                 ('new-category', [.5, .5, 0, 0, 0], [.4, .4, .2, 0, 0], 100, 100)]:
        ref = rs.choice(cats, n1, p=pr)
        cur = rs.choice(cats, n2, p=pc)
        keys = list(dict.fromkeys(list(ref) + list(cur)))
        table = np.array([[np.sum(ref == k) for k in keys], [np.sum(cur == k) for k in keys]])
        chi = stats.chi2_contingency(table)
        chi_nc = stats.chi2_contingency(table, correction=False)
        js = distance.jensenshannon(table[0] / table[0].sum(), table[1] / table[1].sum())
        case = {'name': name, 'reference': ref.tolist(), 'current': cur.tolist(), 'categories': keys,
                'chi2': float(chi[0]), 'p': float(chi[1]), 'df': int(chi[2]),
                'chi2NoCorrection': float(chi_nc[0]), 'pNoCorrection': float(chi_nc[1]),
                'jensenShannon': float(js)}
        if len(keys) == 2:
            x1, x2 = table[0][0], table[1][0]
            p_pool = (x1 + x2) / (n1 + n2)
            z = (x2 / n2 - x1 / n1) / np.sqrt(p_pool * (1 - p_pool) * (1 / n1 + 1 / n2))
            case['z'] = float(z)
            case['zP'] = float(2 * stats.norm.sf(abs(z)))
        out.append(case)
    return out


def distance_cases():
    out = []
    for name, a, b in [('normal', rs.normal(0, 1, 300), rs.normal(0.5, 2, 200)),
                       ('ties', rs.poisson(3, 150).astype(float), rs.poisson(3.5, 170).astype(float)),
                       ('tiny', np.array([0.0, 1.0, 3.0]), np.array([5.0, 6.0, 8.0]))]:
        std = max(float(np.std(a)), 0.001)
        w = float(stats.wasserstein_distance(a, b))
        ref_b = psi_numpy(a, b)
        out.append({'name': name, 'a': f(a), 'b': f(b), 'wasserstein': w, 'wassersteinNormalized': w / std,
                    'jensenShannonNumeric': float(distance.jensenshannon(ref_b['referenceShares'], ref_b['currentShares']))})
    return out


def adjust_cases():
    def holm(p):
        p = np.asarray(p); m = len(p); o = np.argsort(p, kind='stable')
        adj = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * p[o]))
        out = np.empty(m); out[o] = adj; return out

    def bh(p):
        p = np.asarray(p); m = len(p); o = np.argsort(p, kind='stable')
        adj = np.minimum(1, np.minimum.accumulate((m * p[o] / np.arange(1, m + 1))[::-1])[::-1])
        out = np.empty(m); out[o] = adj; return out
    out = []
    for p in [rs.uniform(0, 1, 12), np.concatenate([rs.uniform(0, 0.01, 5), rs.uniform(0, 1, 20)]), np.array([0.01, 0.01, 0.04, 0.5, 1.0])]:
        out.append({'p': f(p), 'holm': f(holm(p)), 'bh': f(bh(p))})
    return out


def mcnemar_cases():
    out = []
    for b, c in [(0, 0), (3, 0), (5, 9), (12, 12), (1, 20), (30, 45), (100, 60), (13, 11)]:
        n = b + c
        exact = 1.0 if n == 0 else float(stats.binomtest(min(b, c), n, 0.5).pvalue)
        stat = (abs(b - c) - 1) ** 2 / n if n else 0.0
        out.append({'b': b, 'c': c, 'exactP': exact, 'chi2': float(stat), 'chi2P': float(stats.chi2.sf(stat, 1)) if n else 1.0})
    return out


def delong_numpy(y, a, b):
    """Definitional O(m n) DeLong (1988): placements from all positive/negative pairs."""
    y = np.asarray(y); pos = y == 1; neg = ~pos
    def psi(s):
        x = s[pos][:, None]; z = s[neg][None, :]
        k = (x > z) + 0.5 * (x == z)
        return k.mean(axis=1), k.mean(axis=0), k.mean()
    v10a, v01a, auca = psi(np.asarray(a)); v10b, v01b, aucb = psi(np.asarray(b))
    s10 = np.cov(np.vstack([v10a, v10b])); s01 = np.cov(np.vstack([v01a, v01b]))
    m, n = pos.sum(), neg.sum()
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    se = np.sqrt(var); z = (aucb - auca) / se
    return {'aucA': float(auca), 'aucB': float(aucb), 'se': float(se), 'z': float(z), 'p': float(2 * stats.norm.sf(abs(z)))}


def delong_cases():
    out = []
    for n, ties in [(60, False), (200, False), (300, True)]:
        y = rs.binomial(1, 0.4, n)
        a = rs.normal(0, 1, n) + 0.8 * y
        b = 0.6 * a + rs.normal(0, 0.8, n) + 0.5 * y
        if ties:
            a = np.round(a, 1); b = np.round(b, 1)
        out.append({'yTrue': y.tolist(), 'a': f(a), 'b': f(b), **delong_numpy(y, a, b)})
    return out


def fairness_cases():
    n = 400
    sex = rs.choice(['F', 'M'], n, p=[0.45, 0.55])
    race = rs.choice(['A', 'B', 'C'], n, p=[0.6, 0.3, 0.1])
    y = rs.binomial(1, 0.4, n)
    pred = rs.binomial(1, np.where(sex == 'F', 0.35, 0.5) * np.where(y == 1, 1.4, 0.7))
    def rates(mask):
        sel = pred[mask].mean()
        tpr = pred[mask & (y == 1)].mean() if (mask & (y == 1)).any() else None
        fpr = pred[mask & (y == 0)].mean() if (mask & (y == 0)).any() else None
        return {'n': int(mask.sum()), 'selectionRate': float(sel), 'tpr': None if tpr is None else float(tpr), 'fpr': None if fpr is None else float(fpr)}
    def summary(groups, min_size):
        elig = [g for g in groups.values() if g['n'] >= min_size]
        sel = [g['selectionRate'] for g in elig]; tpr = [g['tpr'] for g in elig if g['tpr'] is not None]; fpr = [g['fpr'] for g in elig if g['fpr'] is not None]
        return {'demographicParityDifference': max(sel) - min(sel), 'demographicParityRatio': min(sel) / max(sel),
                'equalizedOddsDifference': max(max(tpr) - min(tpr), max(fpr) - min(fpr)),
                'equalizedOddsRatio': min(min(tpr) / max(tpr), min(fpr) / max(fpr)),
                'equalOpportunityDifference': max(tpr) - min(tpr)}
    reports = []
    for cols in [['sex'], ['race'], ['sex', 'race']]:
        groups = {}
        for i in range(n):
            label = str(sex[i]) if cols == ['sex'] else str(race[i]) if cols == ['race'] else f'sex={sex[i]} & race={race[i]}'
            if label in groups:
                continue
            mask = np.ones(n, bool)
            if 'sex' in cols: mask &= sex == sex[i]
            if 'race' in cols: mask &= race == race[i]
            groups[label] = rates(mask)
        reports.append({'sensitive': cols, 'groups': groups, **summary(groups, 30)})
    return {'yTrue': y.tolist(), 'yPred': pred.tolist(), 'sex': sex.tolist(), 'race': race.tolist(), 'minGroupSize': 30, 'reports': reports}



def mulberry32_cases():
    """Canonical C mulberry32 (Tommy Ettinger, public domain) in 32-bit arithmetic."""
    M = 0xFFFFFFFF
    out = []
    for seed in [0, 1, 42, 2 ** 32 - 1]:
        state = seed & M
        vals = []
        for _ in range(5):
            state = (state + 0x6D2B79F5) & M
            z = state
            z = ((z ^ (z >> 15)) * (z | 1)) & M
            z ^= (z + ((z ^ (z >> 7)) * (z | 61))) & M
            vals.append((z ^ (z >> 14)) & M)
        out.append({'seed': seed, 'u32': vals})
    return out


def main():
    ref = {
        'meta': {'generator': 'libs/ml/scripts/make-reference.py', 'python': sys.version.split()[0],
                 'numpy': np.__version__, 'scipy': scipy.__version__, 'sklearn': sklearn.__version__},
        'binary': binary_cases(),
        'regression': regression_cases(),
        'psi': psi_cases(),
        'ks': ks_cases(),
        'special': special_cases(),
        'categorical': categorical_cases(),
        'distance': distance_cases(),
        'adjust': adjust_cases(),
        'mcnemar': mcnemar_cases(),
        'delong': delong_cases(),
        'fairness': fairness_cases(),
        'mulberry32': mulberry32_cases(),
    }
    with open(OUT, 'w') as fh:
        json.dump(ref, fh, separators=(',', ':'))
    print(f'wrote {OUT} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
