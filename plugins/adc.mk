# plugins/adc.mk: diffusion MRI: bio.adc and qib phantom dwi (included by Makefile.am).

qib_SOURCES += core/phantom_dwi.c

plugin_LTLIBRARIES += plugins/bio_adc.la
plugins_bio_adc_la_SOURCES = plugins/bio/adc.c
plugins_bio_adc_la_CFLAGS = $(plugin_cflags)
plugins_bio_adc_la_LDFLAGS = $(plugin_ldflags)
plugins_bio_adc_la_LIBADD = $(plugin_libs)

# The method's page and the benchmark against numpy (bench/adc/run.py).
EXTRA_DIST += doc/biomarkers/adc.md
dist_noinst_SCRIPTS += bench/adc/run.py
