"""The computation of bio.dsc (leakage: bsw) vectorised in numpy, as a user
would write it: nibabel load, dR2* = -ln(S/S0)/TE over the brain mask, the
reference curve over the brain outside the lesions, the BSW fit by least
squares for every voxel at once, trapezoid integrals.  The baseline and
window frames are those qib chose (given on the command line), so both sides
do the same arithmetic.  Prints: load seconds, compute seconds (wall, then
CPU of the process), and the largest relative difference of the corrected
CBV from qib's map.
Usage: ref.py DSC BRAIN ROI TE_MS SKIP B0 B1 W0 W1 QIB_CBV_CORR"""
import sys
import time

import nibabel as nib
import numpy as np

dsc, brain, roi = sys.argv[1:4]
te = float(sys.argv[4]) * 1e-3
skip, b0, b1, w0, w1 = (int(x) for x in sys.argv[5:10])
qib_map = sys.argv[10]

t0 = time.perf_counter()
img = nib.load(dsc)
data = np.asarray(img.dataobj)
m = np.asarray(nib.load(brain).dataobj) > 0
lesion = np.asarray(nib.load(roi).dataobj) > 0
tr = float(img.header.get_zooms()[3])
t1 = time.perf_counter()
c1 = time.process_time()

S = data[m].astype(np.float64)                       # voxels x frames
nt = S.shape[1]
t = np.arange(nt) * tr
S0 = S[:, b0:b1 + 1].mean(axis=1)
y = np.zeros_like(S)
y[:, skip:] = -np.log(S[:, skip:] / S0[:, None]) / te
ref = y[~lesion[m]].mean(axis=0)
cum = np.zeros(nt)
cum[skip + 1:] = np.cumsum(0.5 * np.diff(t[skip:]) * (ref[skip + 1:] + ref[skip:-1]))
X = np.stack([ref[skip:], -cum[skip:]], axis=1)
coef, *_ = np.linalg.lstsq(X, y[:, skip:].T, rcond=None)
k2 = coef[1]
q = np.zeros(nt)
h = 0.5 * np.diff(t[w0:w1 + 1])
q[w0:w1] += h
q[w0 + 1:w1 + 1] += h
cbv = y @ q
cbv_corr = cbv + k2 * (q @ cum)
t2 = time.perf_counter()
c2 = time.process_time()

mine = np.asarray(nib.load(qib_map).dataobj)[m]
rel = np.max(np.abs(mine - cbv_corr) / np.maximum(np.abs(cbv_corr), 1e-3 * np.abs(cbv_corr).max()))
print(f"{t1 - t0:.4f} {t2 - t1:.4f} {c2 - c1:.4f} {rel:.3g}")
