"""The same job as bench/seg/bench.c with the tools a user would otherwise
pick: skimage.filters.threshold_otsu, scipy.ndimage.label (26-connected)
and numpy.bincount for the largest component.  Prints the seconds taken and
writes the resulting mask.  Usage: ref.py CT.raw NX NY NZ OUT.raw"""
import sys
import time

import numpy as np
from scipy import ndimage
from skimage import filters

src, nx, ny, nz, dst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
img = np.fromfile(src, dtype=np.int16).reshape(nz, ny, nx)
t0 = time.perf_counter()
thr = filters.threshold_otsu(img)
lab, n = ndimage.label(img > thr, structure=ndimage.generate_binary_structure(3, 3))
sizes = np.bincount(lab.ravel())
sizes[0] = 0
largest = lab == np.argmax(sizes)
t1 = time.perf_counter()
largest.astype(np.uint8).tofile(dst)
print(f"{t1 - t0:.3f} {float(thr)!r} {n}")
