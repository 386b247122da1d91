# t/percist.mk: tests of bio.percist_ref, bio.percist and the pet-percist
# pipeline (included by Makefile.am).

check_PROGRAMS += t/t1150-percist-ref
TESTS += t/t1150-percist-ref
t_t1150_percist_ref_SOURCES = t/t1150-percist-ref.c t/t0400-util.h
t_t1150_percist_ref_LDADD = $(test_libs)

check_PROGRAMS += t/t1151-percist-response
TESTS += t/t1151-percist-response
t_t1151_percist_response_SOURCES = t/t1151-percist-response.c t/t0400-util.h
t_t1151_percist_response_LDADD = $(test_libs)

TESTS += t/t1152-percist-pipeline.sh
EXTRA_DIST += t/t1152-percist-pipeline.sh t/t1152-percist-data.py

dist_pipeline_DATA += pipelines/pet-percist.yaml
EXTRA_DIST += doc/pipelines/pet-percist.md doc/biomarkers/percist.md
