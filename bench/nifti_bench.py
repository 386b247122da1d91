#!/usr/bin/python3
"""Shared parts of bench/nifti-read and bench/nifti-write: the test data, the
nibabel side of the comparison, and timing with hyperfine and /usr/bin/time.

  nifti_bench.py make DIR          make DIR/ct.nii.gz, DIR/roi.nii.gz, DIR/ct.nii
  nifti_bench.py nibabel-read CT ROI
  nifti_bench.py nibabel-write IN OUT
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

NX, NY, NZ = 512, 512, 300
SPACING = (0.75, 0.75, 1.5)


def make(datadir):
    """A CT-like int16 volume (air, body, fat, lungs, bone, a lesion, noise)
    and a spherical lesion mask, written with nibabel."""
    import nibabel as nib
    import numpy as np

    os.makedirs(datadir, exist_ok=True)
    ct_gz = os.path.join(datadir, "ct.nii.gz")
    roi_gz = os.path.join(datadir, "roi.nii.gz")
    ct_raw = os.path.join(datadir, "ct.nii")
    if all(os.path.exists(p) for p in (ct_gz, roi_gz, ct_raw)):
        return
    rng = np.random.default_rng(7)
    x = (np.arange(NX) - NX / 2 + 0.5) * SPACING[0]
    y = (np.arange(NY) - NY / 2 + 0.5) * SPACING[1]
    X, Y = np.meshgrid(x, y, indexing="ij")
    ct = np.empty((NX, NY, NZ), dtype=np.int16)
    roi = np.zeros((NX, NY, NZ), dtype=np.uint8)
    centre = np.array([40.0, -20.0, 0.0])
    radius = 25.0
    for k in range(NZ):
        z = (k - NZ / 2 + 0.5) * SPACING[2]
        body = (X / 170) ** 2 + (Y / 120) ** 2 <= 1
        fat = body & ((X / 160) ** 2 + (Y / 110) ** 2 > 1)
        lung = (((X - 70) / 55) ** 2 + (Y / 70) ** 2 <= 1) | (((X + 70) / 55) ** 2 + (Y / 70) ** 2 <= 1)
        bone = (X ** 2 + (Y + 85) ** 2 <= 15 ** 2)
        s = np.full((NX, NY), -1000.0)
        s[body] = 40
        s[fat] = -100
        s[lung & body] = -850
        s[bone] = 700
        les = (X - centre[0]) ** 2 + (Y - centre[1]) ** 2 + (z - centre[2]) ** 2 <= radius ** 2
        s[les] = 90
        s += rng.normal(0, 12, size=s.shape)
        ct[:, :, k] = np.clip(np.rint(s), -1024, 3071).astype(np.int16)
        roi[:, :, k] = les
    aff = np.diag([-SPACING[0], -SPACING[1], SPACING[2], 1.0])
    aff[:3, 3] = [-(NX / 2 - 0.5) * -SPACING[0], -(NY / 2 - 0.5) * -SPACING[1], -(NZ / 2 - 0.5) * SPACING[2]]
    img = nib.Nifti1Image(ct, aff)
    img.header.set_xyzt_units("mm")
    nib.save(img, ct_gz)
    nib.save(img, ct_raw)
    nib.save(nib.Nifti1Image(roi, aff), roi_gz)


def nibabel_read(ct_path, roi_path):
    """What a user would write with nibabel: load both, get_fdata, statistics
    of the CT inside the mask (the values bio.intensity reports)."""
    import nibabel as nib
    import numpy as np

    ct = nib.load(ct_path).get_fdata()
    roi = np.asanyarray(nib.load(roi_path).dataobj)
    vals = ct[roi > 0]
    mean = vals.mean()
    d = vals - mean
    var = (d ** 2).mean()
    out = {
        "voxels": int(vals.size),
        "mean": float(mean),
        "sd": float(np.sqrt(var)),
        "min": float(vals.min()),
        "max": float(vals.max()),
        "median": float(np.percentile(vals, 50)),
        "p10": float(np.percentile(vals, 10)),
        "p90": float(np.percentile(vals, 90)),
        "skewness": float((d ** 3).mean() / var ** 1.5),
    }
    print(json.dumps(out))


def nibabel_write(src, dst):
    import nibabel as nib
    import numpy as np

    img = nib.load(src)
    data = np.asanyarray(img.dataobj)
    nib.save(nib.Nifti1Image(data, img.affine, img.header), dst)


def hyperfine(commands, runs=5, warmup=1):
    """Median wall times (s) of each (name, shell command), run in one
    hyperfine invocation so they share the machine's state."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    args = ["hyperfine", "--style", "basic", "--runs", str(runs), "--warmup", str(warmup),
            "--export-json", out]
    for name, cmd in commands:
        args += ["-n", name, cmd]
    subprocess.run(args, check=True, stdout=sys.stderr)
    with open(out) as f:
        res = json.load(f)["results"]
    os.unlink(out)
    return {r["command"]: r["median"] for r in res}


def rss_cpu(cmd):
    """Peak resident memory (MiB) and CPU time (user + system, s) of a shell
    command, from /usr/bin/time.  CPU time is steadier than wall time on a
    shared machine."""
    r = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "sh", "-c", cmd],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    kib, user, sys_ = r.stderr.strip().splitlines()[-1].split()
    return int(kib) / 1024.0, float(user) + float(sys_)


def have(tool):
    return shutil.which(tool) is not None


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "nibabel-read":
        nibabel_read(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "nibabel-write":
        nibabel_write(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
