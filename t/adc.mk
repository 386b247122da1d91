# t/adc.mk: tests of bio.adc, qib phantom dwi and the dwi-adc pipeline (included by Makefile.am).

check_PROGRAMS += t/t1201-adc-hand
TESTS += t/t1201-adc-hand
t_t1201_adc_hand_SOURCES = t/t1201-adc-hand.c t/t0400-util.h
t_t1201_adc_hand_LDADD = $(test_libs)

check_PROGRAMS += t/t1202-adc-errors
TESTS += t/t1202-adc-errors
t_t1202_adc_errors_SOURCES = t/t1202-adc-errors.c t/t0400-util.h
t_t1202_adc_errors_LDADD = $(test_libs)

# qib phantom dwi and bio.adc on the digital reference object.
TESTS += t/t1210-adc-dro.sh
EXTRA_DIST += t/t1210-adc-dro.sh t/t1210-adc-dro.yaml

# A DICOM diffusion series made with pydicom through pipelines/dwi-adc.yaml.
TESTS += t/t1220-adc-dicom.sh
EXTRA_DIST += t/t1220-adc-dicom.sh t/t1220-adc-dicom.py

dist_pipeline_DATA += pipelines/dwi-adc.yaml
EXTRA_DIST += doc/pipelines/dwi-adc.md
