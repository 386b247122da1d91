#!/usr/bin/python3
"""Write an RT Structure Set outlining spheres of the NEMA IEC phantom on its
PET slices, and the mask of the voxels whose centres lie inside its polygons,
for t/t1108-pet-suv-rtstruct.sh.

usage: t1108-rtstruct.py PHANTOM_DIR OUT_DIR NAME:X,Y,Z,DIAMETER...

PHANTOM_DIR is the output of `qib phantom nema-iec` (pet.nii.gz and dicom/);
each NAME:X,Y,Z,DIAMETER is a sphere (centre in LPS mm, diameter in mm) that
becomes one ROI, numbered in order.  Writes
  OUT_DIR/rs.dcm            the structure set, on the PET's frame of reference
  OUT_DIR/rs-other-for.dcm  the same on another FrameOfReferenceUID
  OUT_DIR/NAME.nii.gz       per ROI: 1 where the voxel centre is inside the
                            polygon of its slice, on the grid of pet.nii.gz
and prints, per ROI, `NAME voxels inner mean max`: the mask's voxel count,
how many of them lie wholly inside the sphere (centre within r - half the
voxel diagonal), and the mean and maximum of pet.nii.gz over the mask.
"""
import glob
import math
import os
import sys

try:
    import numpy as np
    import nibabel as nib
    import pydicom
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
    from pydicom.sequence import Sequence
except ImportError as e:  # the shell test checks this first; say why anyway
    sys.exit("t1108-rtstruct.py: %s" % e)

NPOINTS = 64
RTSTRUCT_SOP = "1.2.840.10008.5.1.4.1.1.481.3"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
UID_ROOT = "2.25."


def ds_text(v):
    """A DS value of at most 16 characters (PS3.5 6.2), 4 decimals."""
    s = "%.4f" % v
    if s == "-0.0000":
        s = "0.0000"
    assert len(s) <= 16, s
    return s


def uid(n):
    return UID_ROOT + str(n)


def inside(px, py, x, y):
    """Even-odd crossing test of points (px, py) against the polygon (x, y),
    and the distance of each point to the polygon's outline."""
    ins = np.zeros(px.shape, dtype=bool)
    dist = np.full(px.shape, np.inf)
    n = len(x)
    for a in range(n):
        b = a - 1
        xa, ya, xb, yb = x[a], y[a], x[b], y[b]
        straddle = (ya > py) != (yb > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = xa + (py - ya) * (xb - xa) / (yb - ya)
        ins ^= straddle & (px < xc)
        # distance to the segment a-b
        dx, dy = xb - xa, yb - ya
        t = np.clip(((px - xa) * dx + (py - ya) * dy) / (dx * dx + dy * dy), 0, 1)
        dist = np.minimum(dist, np.hypot(px - (xa + t * dx), py - (ya + t * dy)))
    return ins, dist


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    phantom, out = argv[1], argv[2]
    spheres = []
    for arg in argv[3:]:
        name, nums = arg.split(":")
        x, y, z, d = (float(v) for v in nums.split(","))
        spheres.append((name, (x, y, z), d / 2))

    pet = nib.load(os.path.join(phantom, "pet.nii.gz"))
    data = np.asarray(pet.dataobj, dtype=np.float64)
    aff = pet.affine
    # Voxel centres in DICOM LPS: NIfTI's world is RAS, so x and y change sign.
    ijk = np.indices(data.shape).reshape(3, -1)
    ras = aff[:3, :3] @ ijk + aff[:3, 3:4]
    lps = ras * np.array([[-1.0], [-1.0], [1.0]])
    X, Y, Z = (c.reshape(data.shape) for c in lps)
    # The polygons are drawn per slice: the slices must be axial planes.
    if not (np.allclose(Z, Z[:1, :1, :]) and np.allclose(aff[2, :2], 0)):
        sys.exit("t1108-rtstruct.py: pet.nii.gz is not an axial stack")
    zs = Z[0, 0, :]
    spacing = np.sqrt((aff[:3, :3] ** 2).sum(axis=0))
    half_diag = 0.5 * float(np.sqrt((spacing ** 2).sum()))

    files = sorted(glob.glob(os.path.join(phantom, "dicom", "*.dcm")))
    if not files:
        sys.exit("t1108-rtstruct.py: no DICOM files in %s/dicom" % phantom)
    first = pydicom.dcmread(files[0], stop_before_pixels=True)
    frame_uid = str(first.FrameOfReferenceUID)

    rois = []
    for number, (name, c, r) in enumerate(spheres, 1):
        mask = np.zeros(data.shape, dtype=np.uint8)
        contours = []
        for k, z in enumerate(zs):
            dz = z - c[2]
            if abs(dz) >= r:
                continue
            rc = math.sqrt(r * r - dz * dz)
            # Points as written (DS, 4 decimals): the mask uses the same numbers.
            pts = [(ds_text(c[0] + rc * math.cos(2 * math.pi * q / NPOINTS)),
                    ds_text(c[1] + rc * math.sin(2 * math.pi * q / NPOINTS)),
                    ds_text(z)) for q in range(NPOINTS)]
            contours.append(pts)
            px = np.array([float(p[0]) for p in pts])
            py = np.array([float(p[1]) for p in pts])
            ins, dist = inside(X[:, :, k], Y[:, :, k], px, py)
            # A centre on the outline would make the expected mask depend on
            # the tie rule: refuse such a geometry rather than guess.
            if dist.min() < 1e-3:
                sys.exit("t1108-rtstruct.py: a voxel centre lies on the outline of %s" % name)
            mask[:, :, k] = ins
        sel = mask.astype(bool)
        centre_d = np.sqrt((X - c[0]) ** 2 + (Y - c[1]) ** 2 + (Z - c[2]) ** 2)
        inner = int((sel & (centre_d <= r - half_diag)).sum())
        img = nib.Nifti1Image(mask, aff)
        img.set_qform(aff, code=1)
        img.set_sform(aff, code=1)
        nib.save(img, os.path.join(out, name + ".nii.gz"))
        print("%s %d %d %.9g %.9g" % (name, int(sel.sum()), inner,
                                      data[sel].mean(), data[sel].max()))
        rois.append((number, name, contours))

    write_rtstruct(os.path.join(out, "rs.dcm"), first, frame_uid, rois)
    write_rtstruct(os.path.join(out, "rs-other-for.dcm"), first,
                   uid(987654321987654321), rois)


def write_rtstruct(path, ref, frame_uid, rois):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = RTSTRUCT_SOP
    meta.MediaStorageSOPInstanceUID = uid(1108000001)
    meta.TransferSyntaxUID = EXPLICIT_LE
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SOPClassUID = RTSTRUCT_SOP
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "RTSTRUCT"
    ds.PatientName = ref.get("PatientName", "")
    ds.PatientID = ref.get("PatientID", "")
    ds.StudyInstanceUID = ref.StudyInstanceUID
    ds.SeriesInstanceUID = uid(1108000002)
    ds.StructureSetLabel = "NEMA spheres"
    ds.StructureSetDate = "20260101"
    ds.StructureSetTime = "000000"

    series = Dataset()
    series.SeriesInstanceUID = ref.SeriesInstanceUID
    study = Dataset()
    study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"  # Detached Study Management
    study.ReferencedSOPInstanceUID = ref.StudyInstanceUID
    study.RTReferencedSeriesSequence = Sequence([series])
    frame = Dataset()
    frame.FrameOfReferenceUID = frame_uid
    frame.RTReferencedStudySequence = Sequence([study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])

    ss, rc, obs = [], [], []
    for number, name, contours in rois:
        item = Dataset()
        item.ROINumber = number
        item.ReferencedFrameOfReferenceUID = frame_uid
        item.ROIName = name
        item.ROIGenerationAlgorithm = "MANUAL"
        ss.append(item)
        seq = []
        for pts in contours:
            c = Dataset()
            c.ContourGeometricType = "CLOSED_PLANAR"
            c.NumberOfContourPoints = len(pts)
            c.ContourData = [v for p in pts for v in p]
            seq.append(c)
        roi = Dataset()
        roi.ROIDisplayColor = [255, 0, 0]
        roi.ContourSequence = Sequence(seq)
        roi.ReferencedROINumber = number
        rc.append(roi)
        o = Dataset()
        o.ObservationNumber = number
        o.ReferencedROINumber = number
        o.RTROIInterpretedType = "GTV"
        o.ROIInterpreter = ""
        obs.append(o)
    ds.StructureSetROISequence = Sequence(ss)
    ds.ROIContourSequence = Sequence(rc)
    ds.RTROIObservationsSequence = Sequence(obs)
    ds.save_as(path, write_like_original=False)


if __name__ == "__main__":
    main(sys.argv)
