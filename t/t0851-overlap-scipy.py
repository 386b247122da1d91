# Reference values for t0851-overlap-scipy: agreement of two u8 masks
# (raw files, x fastest) computed with scipy.ndimage.
# Usage: t0851-overlap-scipy.py A B nx ny nz sx sy sz label
# Prints "name value" lines.
import sys

import numpy as np
from scipy import ndimage

a_path, b_path = sys.argv[1], sys.argv[2]
nx, ny, nz = (int(v) for v in sys.argv[3:6])
sx, sy, sz = (float(v) for v in sys.argv[6:9])
label = int(sys.argv[9])

def load(path):
    m = np.fromfile(path, dtype=np.uint8).reshape(nz, ny, nx)
    return m == label if label else m != 0

a, b = load(a_path), load(b_path)
sampling = (sz, sy, sx)
# 6-connectivity; voxels outside the image count as background
st = ndimage.generate_binary_structure(3, 1)

def surface(m):
    return m & ~ndimage.binary_erosion(m, structure=st, border_value=0)

sa, sb = surface(a), surface(b)
da = ndimage.distance_transform_edt(~sb, sampling=sampling)[sa]
db = ndimage.distance_transform_edt(~sa, sampling=sampling)[sb]
pooled = np.concatenate([da, db])
na, nb, nab = int(a.sum()), int(b.sum()), int((a & b).sum())
print("voxels_a", na)
print("voxels_b", nb)
print("dice %.17g" % (2.0 * nab / (na + nb)))
print("jaccard %.17g" % (nab / (na + nb - nab)))
print("hausdorff_mm %.17g" % pooled.max())
print("hausdorff95_mm %.17g" % np.percentile(pooled, 95))
print("assd_mm %.17g" % pooled.mean())
print("surface_voxels %d" % pooled.size)
