"""Write the synthetic baseline / follow-up SUL pair of t1152-percist-pipeline.sh.

Usage: t1152-percist-data.py OUTDIR FOLLOWUP_LESION_SUL

Both scans: 24 x 24 x 24 voxels of 4 mm, identity affine (NIfTI RAS; qib
reads voxel (i, j, k) at LPS (-4i, -4j, 4k) mm).  Background 0.5 SUL.

* Liver: the box i 2..13, j 4..19, k 4..19 holds 2.0 SUL; its mask is that
  box.  Its centroid is at i = 7.5.  RAS +x is the patient's right, so the
  right lobe lies at i >= 8.  A voxel's depth (distance to the nearest voxel
  outside the mask) is 4 mm x the steps to the first index beyond a face;
  at i >= 8 the deepest is 6 steps (24 mm), at i = 8 with j and k in 9..14,
  first in raster order (8, 9, 9): LPS (-32, -36, 36) mm.  The 3 cm sphere
  there lies in uniform 2.0 SUL: mean 2.0, SD 0, threshold 1.5 x 2.0 = 3.0.
* Lesion: the cube i, j, k 17..19 (27 voxels) holds the lesion SUL, label 1;
  a second lesion, the cube 17..19 x 4..6 x 4..6, holds 4.0, label 2.  The
  1 cm^3 peak sphere (radius 6.2035 mm) at 4 mm spacing holds the offsets
  with i^2 + j^2 + k^2 <= 2 (19 voxels), all inside the 3 x 3 x 3 cube when
  centred on its middle voxel, so each cube's global peak is its value.

Baseline: lesion 1 at 8.0 SUL.  Follow-up: lesion 1 at the value given,
lesion 2 unchanged.  shifted_lesions.nii.gz: the baseline lesion mask on a
grid moved by one voxel (4 mm), for the bad-input case.
"""
import os
import sys

import nibabel as nib
import numpy as np


def write(path, data, dtype):
    img = nib.Nifti1Image(data.astype(dtype), np.diag([4.0, 4.0, 4.0, 1.0]))
    img.header.set_xyzt_units("mm")
    nib.save(img, path)


def scan(lesion):
    pet = np.full((24, 24, 24), 0.5, dtype=np.float32)
    liver = np.zeros((24, 24, 24), dtype=np.uint8)
    liver[2:14, 4:20, 4:20] = 1
    pet[liver == 1] = 2.0
    lab = np.zeros((24, 24, 24), dtype=np.uint8)
    lab[17:20, 17:20, 17:20] = 1
    lab[17:20, 4:7, 4:7] = 2
    pet[lab == 1] = lesion
    pet[lab == 2] = 4.0
    return pet, lab, liver


def main():
    out, follow = sys.argv[1], float(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    for name, value in (("baseline", 8.0), ("followup", follow)):
        pet, lab, liver = scan(value)
        write(os.path.join(out, name + "_pet.nii.gz"), pet, np.float32)
        write(os.path.join(out, name + "_lesions.nii.gz"), lab, np.uint8)
        write(os.path.join(out, name + "_liver.nii.gz"), liver, np.uint8)
    _, lab, _ = scan(8.0)
    img = nib.Nifti1Image(lab, np.array([[4.0, 0, 0, 4.0], [0, 4.0, 0, 0],
                                         [0, 0, 4.0, 0], [0, 0, 0, 1]]))
    nib.save(img, os.path.join(out, "shifted_lesions.nii.gz"))


if __name__ == "__main__":
    main()
