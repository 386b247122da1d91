"""Reference results for the segmentation tests (t05xx), from numpy,
scipy.ndimage and scikit-image.  Volumes are raw files, x fastest, read as
numpy arrays of shape (nz, ny, nx).  Usage: see the commands below."""
import sys

import numpy as np
from scipy import ndimage
from skimage import filters

DTYPES = {"u8": np.uint8, "i8": np.int8, "u16": np.uint16, "i16": np.int16,
          "u32": np.uint32, "i32": np.int32, "f32": np.float32, "f64": np.float64}


def load(path, dtype, nx, ny, nz):
    return np.fromfile(path, dtype=DTYPES[dtype]).reshape(nz, ny, nx)


def cmd_otsu(a):
    dt, nx, ny, nz, img = a[0], int(a[1]), int(a[2]), int(a[3]), a[4]
    v = load(img, dt, nx, ny, nz)
    if len(a) > 5:
        v = v[load(a[5], "u8", nx, ny, nz) != 0]
    print(repr(float(filters.threshold_otsu(v))))


def cmd_multiotsu(a):
    k, dt, nx, ny, nz, img = int(a[0]), a[1], int(a[2]), int(a[3]), int(a[4]), a[5]
    v = load(img, dt, nx, ny, nz)
    print(" ".join(repr(float(t)) for t in filters.threshold_multiotsu(v, classes=k)))


def cmd_label(a):
    """Labels renumbered by size (largest first; ties in raster order,
    which is scipy's own numbering)."""
    conn, nx, ny, nz, src, dst = int(a[0]), int(a[1]), int(a[2]), int(a[3]), a[4], a[5]
    rank = {6: 1, 18: 2, 26: 3}[conn]
    m = load(src, "u8", nx, ny, nz) != 0
    lab, n = ndimage.label(m, structure=ndimage.generate_binary_structure(3, rank))
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    order = sorted(range(1, n + 1), key=lambda i: (-sizes[i], i))
    new = np.zeros(n + 1, dtype=np.int32)
    for r, old in enumerate(order):
        new[old] = r + 1
    new[lab].astype(np.int32).tofile(dst)
    print(n)


def element(kind, r, sx, sy, sz):
    if kind == "cube":
        k = int(r)
        return np.ones((2 * k + 1,) * 3, dtype=bool)
    rx, ry, rz = int(r // sx) + 1, int(r // sy) + 1, int(r // sz) + 1
    se = np.zeros((2 * rz + 1, 2 * ry + 1, 2 * rx + 1), dtype=bool)
    for dz in range(-rz, rz + 1):
        for dy in range(-ry, ry + 1):
            for dx in range(-rx, rx + 1):
                d2 = (dx * sx) * (dx * sx) + (dy * sy) * (dy * sy) + (dz * sz) * (dz * sz)
                se[dz + rz, dy + ry, dx + rx] = d2 <= r * r
    return se


def cmd_morph(a):
    op, kind = a[0], a[1]
    nx, ny, nz = int(a[2]), int(a[3]), int(a[4])
    sx, sy, sz, r = float(a[5]), float(a[6]), float(a[7]), float(a[8])
    m = load(a[9], "u8", nx, ny, nz) != 0
    se = element(kind, r, sx, sy, sz)
    f = {"erode": ndimage.binary_erosion, "dilate": ndimage.binary_dilation,
         "open": ndimage.binary_opening, "close": ndimage.binary_closing}[op]
    f(m, structure=se).astype(np.uint8).tofile(a[10])
    print(int(se.sum()))


def cmd_fill(a):
    mode, nx, ny, nz = a[0], int(a[1]), int(a[2]), int(a[3])
    m = load(a[4], "u8", nx, ny, nz) != 0
    if mode == "3d":
        out = ndimage.binary_fill_holes(m)
    else:
        out = np.stack([ndimage.binary_fill_holes(s) for s in m])
    out.astype(np.uint8).tofile(a[5])


COMMANDS = {"otsu": cmd_otsu, "multiotsu": cmd_multiotsu, "label": cmd_label,
            "morph": cmd_morph, "fill": cmd_fill}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](sys.argv[2:])
