#!/usr/bin/python3
"""Helper of t/t1220-adc-dicom.sh.

make DIR: writes a 4-D MR diffusion series as DICOM files under DIR/dicom
  (8 x 6 pixels at 1.25 x 1.5 mm, 3 slices 4 mm apart, b = 0, 200, 600,
  1000 s/mm^2 in (0018,9087), uint16, one file per slice and b-value, in a
  shuffled order), an ROI mask on its grid, DIR/roi.nii.gz (labels 1 and 2),
  and DIR/expected.csv: per label, the mean log-linear least-squares ADC
  (1e-3 mm^2/s) computed here with numpy from the stored integers, for all
  b-values and for b >= 200.
check DIR OUT: compares OUT/adc.nii.gz voxel by voxel with the numpy map.
Exit 77 when numpy, nibabel or pydicom is missing."""
import os
import sys

try:
    import nibabel as nib
    import numpy as np
    import pydicom
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
except ImportError as e:
    print("missing: %s" % e)
    sys.exit(77)

NX, NY, NZ = 8, 6, 3          # columns, rows, slices
DX, DY, DZ = 1.25, 1.5, 4.0   # column spacing, row spacing, slice spacing (mm)
B = [0.0, 200.0, 600.0, 1000.0]
ORIGIN = np.array([-10.0, -20.0, 30.0])  # LPS, centre of the first voxel


def signals():
    """S[b, i, j, k]: ADC rising along x and z, S0 along y, rounded to
    integers as a scanner stores them; 10 % more at b = 0 than the
    mono-exponential, so that leaving b = 0 out changes the fit."""
    i, j, k = np.meshgrid(np.arange(NX), np.arange(NY), np.arange(NZ), indexing="ij")
    adc = (0.4 + 0.25 * i + 0.3 * k) * 1e-3          # mm^2/s, i-j-k order
    s0 = 1500.0 + 100.0 * j
    S = np.stack([np.rint(s0 * np.exp(-b * adc)) for b in B])  # [b, i, j, k]
    S[0] = np.rint(1.1 * s0)  # a perfusion-like excess at b = 0
    return S


def lls(S, b):
    b = np.asarray(b)
    y = np.log(S)
    c = (b - b.mean()) / ((b - b.mean()) ** 2).sum()
    return -np.tensordot(c, y, axes=1) * 1e3       # 1e-3 mm^2/s


def labels():
    lab = np.zeros((NX, NY, NZ), np.uint8)
    lab[1:4, 1:5, 0:2] = 1
    lab[5:8, 2:6, 1:3] = 2
    return lab


def make(d):
    os.makedirs(os.path.join(d, "dicom"), exist_ok=True)
    S = signals()
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    order = [(k, f) for k in range(NZ) for f in range(len(B))]
    rng = np.random.default_rng(3)
    rng.shuffle(order)
    for n, (k, f) in enumerate(order):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        name = os.path.join(d, "dicom", "im%03d.dcm" % n)
        ds = FileDataset(name, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.is_little_endian = True
        ds.is_implicit_VR = False
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.PatientID = "T1220"
        ds.PatientName = "Test^Diffusion"
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.FrameOfReferenceUID = frame
        ds.SeriesNumber = 5
        ds.SeriesDescription = "ep2d_diff trace"
        ds.Modality = "MR"
        ds.InstanceNumber = k * len(B) + f + 1
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [float(ORIGIN[0]), float(ORIGIN[1]), float(ORIGIN[2] + k * DZ)]
        ds.PixelSpacing = [DY, DX]          # row spacing, column spacing
        ds.SliceThickness = DZ
        ds.DiffusionBValue = B[f]           # (0018,9087)
        ds.EchoTime = "82.5"                # (0018,0081), ms
        ds.RepetitionTime = "4300"          # (0018,0080), ms
        ds.Rows, ds.Columns = NY, NX
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        # pixel (row j, column i)
        ds.PixelData = np.ascontiguousarray(S[f, :, :, k].T.astype("<u2")).tobytes()
        ds.save_as(name, write_like_original=False)
    # NIfTI mask on the same grid: LPS affine to RAS
    lps = np.eye(4)
    lps[:3, 0] = [DX, 0, 0]
    lps[:3, 1] = [0, DY, 0]
    lps[:3, 2] = [0, 0, DZ]
    lps[:3, 3] = ORIGIN
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    img = nib.Nifti1Image(labels(), ras)
    img.set_qform(ras, code=1)
    img.set_sform(ras, code=1)
    nib.save(img, os.path.join(d, "roi.nii.gz"))
    lab = labels()
    full, body = lls(S, B), lls(S[1:], B[1:])
    with open(os.path.join(d, "expected.csv"), "w") as f:
        f.write("label,voxels,adc_mean,adc_mean_b200\n")
        for l in (1, 2):
            m = lab == l
            f.write("%d,%d,%.17g,%.17g\n" % (l, m.sum(), full[m].mean(), body[m].mean()))
    np.save(os.path.join(d, "expected_map.npy"), full)


def check(d, out):
    want = np.load(os.path.join(d, "expected_map.npy"))
    got = np.asarray(nib.load(os.path.join(out, "adc.nii.gz")).dataobj, dtype=np.float64)
    if got.shape != want.shape:
        print("shape %s, expected %s" % (got.shape, want.shape))
        return 1
    err = np.max(np.abs(got - want) / want)
    print("max relative difference of the ADC map from numpy: %.3g" % err)
    return 0 if err < 1e-6 else 1


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2], sys.argv[3]))
