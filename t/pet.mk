# t/pet.mk: tests of bio.suv, bio.recovery, the NEMA IEC phantom and the PET
# pipelines (included by Makefile.am).

check_PROGRAMS += t/t1101-suv-hand
TESTS += t/t1101-suv-hand
t_t1101_suv_hand_SOURCES = t/t1101-suv-hand.c t/t0400-util.h
t_t1101_suv_hand_LDADD = $(test_libs)

check_PROGRAMS += t/t1102-suv-ibsi
TESTS += t/t1102-suv-ibsi
t_t1102_suv_ibsi_SOURCES = t/t1102-suv-ibsi.c t/t0400-util.h
t_t1102_suv_ibsi_LDADD = $(test_libs)

TESTS += t/t1103-nema-phantom.sh
EXTRA_DIST += t/t1103-nema-phantom.sh t/t1103-stats.yaml

check_PROGRAMS += t/t1104-nema-dicom
TESTS += t/t1104-nema-dicom
t_t1104_nema_dicom_SOURCES = t/t1104-nema-dicom.c t/t0400-util.h
t_t1104_nema_dicom_LDADD = $(test_libs)

TESTS += t/t1105-pet-pipelines.sh t/t1107-pet-suv-dro.sh
EXTRA_DIST += t/t1105-pet-pipelines.sh t/t1107-pet-suv-dro.sh

check_PROGRAMS += t/t1106-recovery-hand
TESTS += t/t1106-recovery-hand
t_t1106_recovery_hand_SOURCES = t/t1106-recovery-hand.c t/t0400-util.h
t_t1106_recovery_hand_LDADD = $(test_libs)

# The PET pipelines and their pages.
dist_pipeline_DATA += pipelines/pet-suv.yaml pipelines/pet-mtv-eanm.yaml pipelines/pet-nema-rc.yaml
EXTRA_DIST += doc/pipelines/pet-suv.md doc/pipelines/pet-mtv-eanm.md doc/pipelines/pet-nema-rc.md

# pet-suv-rtstruct: the lesion ROI from an RT Structure Set.
TESTS += t/t1108-pet-suv-rtstruct.sh
EXTRA_DIST += t/t1108-pet-suv-rtstruct.sh t/t1108-rtstruct.py
dist_pipeline_DATA += pipelines/pet-suv-rtstruct.yaml
EXTRA_DIST += doc/pipelines/pet-suv-rtstruct.md
