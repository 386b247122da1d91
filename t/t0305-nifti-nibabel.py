#!/usr/bin/python3
"""Cross-check helper for t0305-nifti-nibabel: nibabel's view of NIfTI files.

  read FILE   print one line describing FILE as nibabel loads it
  write DIR   write test images with nibabel into DIR; one line per file

A line is: name dtype ndim d0 d1 d2 d3 a00 a01 a02 a03 a10 .. a23 sum wsum
where the affine is nibabel's (RAS, its sform/qform choice), dtype is the
on-disk type (or "scaled" when scl_slope/scl_inter apply), sum is the sum of
the scaled voxels in float64 and wsum = sum((i + 1) * v_i) over the voxels
in file order (x fastest), which catches reordering.
"""
import os
import sys

import nibabel as nib
import numpy as np


def describe(name, img):
    hdr = img.header
    data = np.asanyarray(img.dataobj).astype(np.float64)
    flat = data.ravel(order="F")
    ok = ~np.isnan(flat)
    w = np.arange(1, flat.size + 1, dtype=np.float64)
    # a loaded image keeps its scaling in the array proxy, not the header
    slope = getattr(img.dataobj, "slope", 1.0)
    inter = getattr(img.dataobj, "inter", 0.0)
    scaled = not (slope == 1 and inter == 0)
    dtype = "scaled" if scaled else str(hdr.get_data_dtype().newbyteorder("="))
    shape = list(img.shape) + [1] * (4 - len(img.shape))
    aff = img.affine[:3].ravel()
    fields = [name, dtype, str(len(img.shape))] + [str(s) for s in shape]
    fields += ["%.17g" % a for a in aff]
    fields += ["%.17g" % flat[ok].sum(), "%.17g" % (w[ok] * flat[ok]).sum()]
    print(" ".join(fields))


def rotation(theta, axis):
    a = np.asarray(axis, dtype=np.float64)
    a /= np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.cos(theta) * np.eye(3) + (1 - np.cos(theta)) * np.outer(a, a) + np.sin(theta) * k


def write(outdir):
    rng = np.random.default_rng(20240501)
    aff = np.eye(4)
    aff[:3, :3] = rotation(0.4, [1, -2, 3]) @ np.diag([0.8, 0.9, 2.5])
    aff[:3, 3] = [-91.5, 12.25, 40.0]

    # int16, oblique, .nii.gz (nibabel's default: sform_code 2, qform_code 0)
    d = rng.integers(-1024, 3000, size=(7, 6, 5)).astype(np.int16)
    img = nib.Nifti1Image(d, aff)
    nib.save(img, os.path.join(outdir, "nb_i16.nii.gz"))

    # float32 4-D .nii, qform and sform both scanner (code 1)
    d = rng.normal(100, 20, size=(4, 5, 3, 6)).astype(np.float32)
    img = nib.Nifti1Image(d, aff)
    img.header.set_qform(aff, code=1)
    img.header.set_sform(aff, code=1)
    img.header.set_xyzt_units("mm", "msec")
    img.header["pixdim"][4] = 2500.0
    nib.save(img, os.path.join(outdir, "nb_f32_4d.nii"))

    # int16 with scl_slope 0.5, scl_inter 10
    d = rng.integers(0, 2000, size=(6, 4, 3)).astype(np.int16)
    img = nib.Nifti1Image(d, aff)
    img.header.set_slope_inter(0.5, 10)
    nib.save(img, os.path.join(outdir, "nb_scaled.nii"))

    # big-endian uint16, qform only (sform_code 0), left-handed
    flip = aff.copy()
    flip[:3, 2] *= -1
    hdr = nib.Nifti1Header(endianness=">")
    hdr.set_data_dtype(np.uint16)
    d = rng.integers(0, 65535, size=(5, 5, 4)).astype(np.uint16)
    img = nib.Nifti1Image(d, None, hdr)
    img.header.set_qform(flip, code=1)
    img.header.set_sform(None, code=0)
    nib.save(img, os.path.join(outdir, "nb_be_u16.nii"))

    # NIfTI-2, float64, .nii.gz
    d = rng.normal(0, 1e6, size=(3, 4, 5)).astype(np.float64)
    img = nib.Nifti2Image(d, aff)
    nib.save(img, os.path.join(outdir, "nb2_f64.nii.gz"))

    # uint8 labels .nii.gz
    d = rng.integers(0, 4, size=(8, 7, 6)).astype(np.uint8)
    img = nib.Nifti1Image(d, aff)
    nib.save(img, os.path.join(outdir, "nb_u8.nii.gz"))

    for name in sorted(os.listdir(outdir)):
        if name.startswith("nb"):
            describe(name, nib.load(os.path.join(outdir, name)))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("read", "write"):
        sys.exit("usage: t0305-nifti-nibabel.py read FILE | write DIR")
    if sys.argv[1] == "read":
        describe(os.path.basename(sys.argv[2]), nib.load(sys.argv[2]))
    else:
        write(sys.argv[2])


if __name__ == "__main__":
    main()
