#!/usr/bin/python3
"""bench/adc: ADC fit (log-linear least squares, S0, R^2, flags, clipping) of
a 256x256x40 x 6 b-value series: qib (read.nifti + bio.adc in a pipeline)
against the same computation vectorised in numpy on the same file loaded
with nibabel, in one run.  Prints the median of N runs of each, for the fit
alone and end to end (load + fit), the CPU time of each end to end, and the
ratios (goal: qib >= 5x faster).

usage: bench/adc/run.py [--build DIR] [--runs N] [--threads T] [--data DIR]
  --build DIR   a built qib tree (default: $QIB and $QIB_PLUGIN_PATH, else
                ./qib and ./plugins/.libs); in a build tree the program
                behind libtool's wrapper script is timed (an installed qib
                has no wrapper: a shell that starts it)
  --data DIR    where the series is made once with `qib phantom dwi`
                (default ./bench-adc-data)
"""
import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PIPE = """qib: 1
name: bench-adc
description: ADC map of a 4-D series, log-linear least squares
inputs:
  dwi: {type: path, help: "4-D diffusion series, NIfTI"}
steps:
  - id: dwi
    plugin: read.nifti
    with: {path: "${inputs.dwi}"}
  - id: fit
    plugin: bio.adc
    in: {image: dwi}
    with: {bvalues: [0, 100, 500, 800, 2000, 4000], model: lls}
  - id: save
    plugin: export.csv
    in: {table: fit.table}
    with: {path: adc.csv}
"""

B = [0, 100, 500, 800, 2000, 4000]


def numpy_fit(np, S, b, floor=0.0, clip=(0.0, 4e-3)):
    """The computation bio.adc does with model lls, vectorised: flags, one
    log per sample, slope and intercept from the precomputed design, R^2 of
    the log-signal, clipping, maps in 1e-3 mm^2/s."""
    b = np.asarray(b, dtype=np.float64)
    S = S.reshape(-1, S.shape[-1]) if S.ndim == 4 else S
    bad = np.any((S < floor) | (S <= 0), axis=1)
    nodecay = ~bad & (S[:, np.argmax(b)] >= S[:, np.argmin(b)])
    y = np.log(np.where(S > 0, S, 1.0), dtype=np.float64)
    c = (b - b.mean()) / ((b - b.mean()) ** 2).sum()
    slope = y @ c
    ybar = y.mean(axis=1)
    icpt = ybar - slope * b.mean()
    res = y - (icpt[:, None] + slope[:, None] * b[None, :])
    ssr = (res * res).sum(axis=1)
    dev = y - ybar[:, None]
    sst = (dev * dev).sum(axis=1)
    adc = np.clip(-slope, clip[0], clip[1])
    ok = ~(bad | nodecay)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ok & (sst > 0), 1 - ssr / sst, np.nan).astype(np.float32)
    adc_map = np.where(ok, adc * 1e3, np.nan).astype(np.float32)
    s0 = np.where(ok, np.exp(icpt), np.nan).astype(np.float32)
    return adc_map, s0, r2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=None)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=os.path.abspath("bench-adc-data"))
    a = ap.parse_args()
    try:
        import nibabel as nib
        import numpy as np
    except ImportError as e:
        sys.exit("bench/adc: needs numpy and nibabel (%s)" % e)
    if a.build:
        qib = os.path.join(a.build, "qib")
        os.environ["QIB_PLUGIN_PATH"] = os.path.join(a.build, "plugins", ".libs")
    else:
        qib = os.environ.get("QIB", "./qib")
        os.environ.setdefault("QIB_PLUGIN_PATH", os.path.abspath("plugins/.libs"))
    top = os.path.dirname(os.path.abspath(qib))
    real, lib = os.path.join(top, ".libs", "qib"), os.path.join(top, "core", ".libs")
    if os.path.isfile(real) and os.access(real, os.X_OK) and os.path.isdir(lib):
        qib = real
        os.environ["LD_LIBRARY_PATH"] = ":".join(
            x for x in (lib, os.environ.get("LD_LIBRARY_PATH")) if x)
    data = os.path.join(a.data, "dwi.nii")
    if not os.path.exists(data):
        print("# making the series in %s" % a.data, file=sys.stderr)
        # 8 columns x 8 rows of 32x32 patches: 256x256, 40 slices, 6 b-values
        subprocess.run([qib, "phantom", "dwi", "--out", a.data, "--block", "32",
                        "--slices", "40", "--adc", "0.1,0.5,0.9,1.3,1.7,2.1,2.5,2.9",
                        "--snr", "inf,200,100,80,60,50,40,30",
                        "--b", ",".join(str(x) for x in B)],
                       check=True, stdout=subprocess.DEVNULL)
        img = nib.load(os.path.join(a.data, "dwi.nii.gz"))
        nib.save(img, data)  # uncompressed: the fit, not inflate, is measured
    tmp = tempfile.mkdtemp()
    pipe = os.path.join(tmp, "adc.yaml")
    with open(pipe, "w") as f:
        f.write(PIPE)
    qfit, qall, nfit, nall, qcpu, ncpu = [], [], [], [], [], []
    try:
        for _ in range(a.runs):
            out = os.path.join(tmp, "out")
            shutil.rmtree(out, ignore_errors=True)
            c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            r = subprocess.run([qib, "run", "--threads", str(a.threads), pipe, "--out", out,
                                "-i", "dwi=" + data], capture_output=True, text=True)
            t1 = time.perf_counter()
            c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            qcpu.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
            if r.returncode:
                sys.exit("qib failed:\n" + r.stderr)
            m = re.search(r"fit \(bio\.adc [^)]*\): ([0-9.]+) s", r.stderr)
            qfit.append(float(m.group(1)))
            qall.append(t1 - t0)
            p0 = time.process_time()
            t0 = time.perf_counter()
            S = np.asarray(nib.load(data).dataobj)
            t1 = time.perf_counter()
            adc, s0, r2 = numpy_fit(np, S, B)
            t2 = time.perf_counter()
            ncpu.append(time.process_time() - p0)
            nfit.append(t2 - t1)
            nall.append(t2 - t0)
        # same numbers: the mean ADC over the image
        mq = float(open(os.path.join(tmp, "out", "adc.csv")).read().splitlines()[1]
                   .split(",")[7])
        mn = float(np.nanmean(adc.astype(np.float64)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    shape = "x".join(str(x) for x in S.shape)
    print("# %s float32, %s, %d CPUs, load %s" % (shape, os.uname().machine, os.cpu_count(),
                                                  " ".join(open("/proc/loadavg").read().split()[:3])))
    print("# qib: %s" % qib)
    print("# mean ADC over the image (1e-3 mm^2/s): qib %.9g, numpy %.9g" % (mq, mn))
    print("%-26s %10s %10s %8s" % ("median of %d runs" % a.runs, "qib_s", "numpy_s", "ratio"))
    f = statistics.median
    print("%-26s %10.3f %10.3f %7.1fx" % ("fit (%d threads)" % a.threads, f(qfit), f(nfit),
                                          f(nfit) / f(qfit)))
    print("%-26s %10.3f %10.3f %7.1fx" % ("load + fit, end to end", f(qall), f(nall),
                                          f(nall) / f(qall)))
    # CPU seconds: what the work costs whatever else the machine runs
    print("%-26s %10.3f %10.3f %7.1fx" % ("CPU s, load + fit", f(qcpu), f(ncpu),
                                          f(ncpu) / f(qcpu)))


if __name__ == "__main__":
    main()
