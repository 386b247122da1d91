#!/usr/bin/python3
"""Write two small dynamic PET series for t0724-dicom-dynamic-pet (pydicom):
4 frames x 3 slices of 3x2 pixels, stored value 100 f + 10 k + 3 y + x
(frame f, slice k, row y, column x), each frame and slice in its own file.

DIR/ref: FrameReferenceTime (0054,1300) 15, 45, 90, 150 s and
ActualFrameDuration (0018,1242) 30, 30, 60, 60 s; AcquisitionTime and
InstanceNumber run backwards (last frame first), so only FrameReferenceTime
orders the frames correctly.
DIR/acq: no FrameReferenceTime; AcquisitionTime 10:00:00, 10:00:30,
10:01:00 and 10:02:00 for frames 0 to 3.

usage: t0724-dynamic-pet.py DIR
"""
import os
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

FRAMES, SLICES, ROWS, COLS = 4, 3, 2, 3
FREF_MS = [15000, 45000, 90000, 150000]
FDUR_MS = [30000, 30000, 60000, 60000]
ACQ = ["100000", "100030", "100100", "100200"]


def write(d, with_fref):
    os.makedirs(d, exist_ok=True)
    study, series, frame_uid = generate_uid(), generate_uid(), generate_uid()
    for f in range(FRAMES):
        for k in range(SLICES):
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.128"  # PET Image Storage
            meta.MediaStorageSOPInstanceUID = generate_uid()
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds = Dataset()
            ds.file_meta = meta
            ds.is_little_endian, ds.is_implicit_VR = True, False
            ds.SOPClassUID = meta.MediaStorageSOPClassUID
            ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
            ds.Modality = "PT"
            ds.Units = "BQML"
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
            ds.FrameOfReferenceUID = frame_uid
            ds.SeriesNumber = 7
            ds.SeriesDescription = "DYNAMIC PET"
            ds.SeriesDate, ds.SeriesTime = "20240101", "100000"
            ds.NumberOfTimeSlices = FRAMES
            ds.NumberOfSlices = SLICES
            ds.ActualFrameDuration = FDUR_MS[f]
            if with_fref:
                ds.FrameReferenceTime = FREF_MS[f]
                # Deliberately inconsistent: backwards, and a different
                # time for each slice of a frame.
                ds.AcquisitionTime = "%02d%02d%02d" % (11, 59 - 10 * f, 50 - 10 * k)
                ds.InstanceNumber = (FRAMES - f) * SLICES - k
            else:
                ds.AcquisitionTime = ACQ[f]
                ds.InstanceNumber = f * SLICES + k + 1
            ds.ImagePositionPatient = [-1.0, -2.0, 2.0 * k]
            ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
            ds.PixelSpacing = [4.0, 4.0]
            ds.SliceThickness = 2.0
            ds.Rows, ds.Columns = ROWS, COLS
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
            ds.RescaleSlope, ds.RescaleIntercept = 1, 0
            y, x = np.mgrid[0:ROWS, 0:COLS]
            ds.PixelData = (100 * f + 10 * k + 3 * y + x).astype("<u2").tobytes()
            # File names in neither frame nor slice order.
            name = "IM%02d.dcm" % ((7 * (f * SLICES + k)) % (FRAMES * SLICES))
            pydicom.dcmwrite(os.path.join(d, name), ds, write_like_original=False)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    write(os.path.join(sys.argv[1], "ref"), True)
    write(os.path.join(sys.argv[1], "acq"), False)


if __name__ == "__main__":
    main()
