# t/radiomics.mk: tests of resampling, reg.resample and bio.radiomics
# (included by Makefile.am).

EXTRA_DIST += t/t0600-ibsi.h

check_PROGRAMS += t/t0601-radiomics-phantom
TESTS += t/t0601-radiomics-phantom
t_t0601_radiomics_phantom_SOURCES = t/t0601-radiomics-phantom.c t/t0600-ibsi.h
t_t0601_radiomics_phantom_LDADD = $(test_libs)

EXTRA_DIST += t/t0620-todo.h
check_PROGRAMS += t/t0621-radiomics-config-a t/t0622-radiomics-config-b \
	t/t0623-radiomics-config-c t/t0624-radiomics-config-d t/t0625-radiomics-config-e
TESTS += t/t0621-radiomics-config-a t/t0622-radiomics-config-b \
	t/t0623-radiomics-config-c t/t0624-radiomics-config-d t/t0625-radiomics-config-e
t_t0621_radiomics_config_a_SOURCES = t/t0620-radiomics-ct.c t/t0600-ibsi.h t/t0620-todo.h
t_t0621_radiomics_config_a_CPPFLAGS = $(AM_CPPFLAGS) -DIBSI_CONFIG=0
t_t0621_radiomics_config_a_LDADD = $(test_libs)
t_t0622_radiomics_config_b_SOURCES = t/t0620-radiomics-ct.c t/t0600-ibsi.h t/t0620-todo.h
t_t0622_radiomics_config_b_CPPFLAGS = $(AM_CPPFLAGS) -DIBSI_CONFIG=1
t_t0622_radiomics_config_b_LDADD = $(test_libs)
t_t0623_radiomics_config_c_SOURCES = t/t0620-radiomics-ct.c t/t0600-ibsi.h t/t0620-todo.h
t_t0623_radiomics_config_c_CPPFLAGS = $(AM_CPPFLAGS) -DIBSI_CONFIG=2
t_t0623_radiomics_config_c_LDADD = $(test_libs)
t_t0624_radiomics_config_d_SOURCES = t/t0620-radiomics-ct.c t/t0600-ibsi.h t/t0620-todo.h
t_t0624_radiomics_config_d_CPPFLAGS = $(AM_CPPFLAGS) -DIBSI_CONFIG=3
t_t0624_radiomics_config_d_LDADD = $(test_libs)
t_t0625_radiomics_config_e_SOURCES = t/t0620-radiomics-ct.c t/t0600-ibsi.h t/t0620-todo.h
t_t0625_radiomics_config_e_CPPFLAGS = $(AM_CPPFLAGS) -DIBSI_CONFIG=4
t_t0625_radiomics_config_e_LDADD = $(test_libs)

check_PROGRAMS += t/t0610-resample
TESTS += t/t0610-resample
t_t0610_resample_SOURCES = t/t0610-resample.c
t_t0610_resample_LDADD = $(test_libs)

check_PROGRAMS += t/t0602-radiomics-matrices
TESTS += t/t0602-radiomics-matrices
t_t0602_radiomics_matrices_SOURCES = t/t0602-radiomics-matrices.c t/t0600-ibsi.h \
	plugins/bio/radiomics/texture.c plugins/bio/radiomics/rad.h
t_t0602_radiomics_matrices_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/bio/radiomics
t_t0602_radiomics_matrices_LDADD = $(test_libs) -lm

# The IBSI pipelines, their pages, the conformance page and its generator,
# the benchmark.
dist_pipeline_DATA += pipelines/ibsi-digital-phantom.yaml pipelines/ibsi-config-a.yaml \
	pipelines/ibsi-config-b.yaml pipelines/ibsi-config-c.yaml pipelines/ibsi-config-d.yaml \
	pipelines/ibsi-config-e.yaml
EXTRA_DIST += doc/ibsi-conformance.md doc/biomarkers/radiomics.md \
	doc/pipelines/ibsi-digital-phantom.md \
	doc/pipelines/ibsi-config-a.md doc/pipelines/ibsi-config-b.md \
	doc/pipelines/ibsi-config-c.md doc/pipelines/ibsi-config-d.md \
	doc/pipelines/ibsi-config-e.md t/ibsi-conformance.sh bench/radiomics/run.sh \
	bench/radiomics/README.md

ibsi_conformance_tests = t/t0601-radiomics-phantom t/t0621-radiomics-config-a \
	t/t0622-radiomics-config-b t/t0623-radiomics-config-c t/t0624-radiomics-config-d \
	t/t0625-radiomics-config-e

# Rewrite the pass-count table of doc/ibsi-conformance.md from the tests.
ibsi-conformance: $(ibsi_conformance_tests) plugins/bio_radiomics.la plugins/read_nifti.la
	@$(AM_TESTS_ENVIRONMENT) $(SHELL) $(top_srcdir)/t/ibsi-conformance.sh \
	  $(top_srcdir)/doc/ibsi-conformance.md $(ibsi_conformance_tests)
.PHONY: ibsi-conformance

check_PROGRAMS += t/t0603-radiomics-params
TESTS += t/t0603-radiomics-params
t_t0603_radiomics_params_SOURCES = t/t0603-radiomics-params.c
t_t0603_radiomics_params_LDADD = $(test_libs)

TESTS += t/t0630-ibsi-pipelines.sh
EXTRA_DIST += t/t0630-ibsi-pipelines.sh
