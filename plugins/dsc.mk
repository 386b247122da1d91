# plugins/dsc.mk: DSC perfusion MRI: bio.dsc and qib phantom dsc (included by Makefile.am).

qib_SOURCES += core/phantom_dsc.c

plugin_LTLIBRARIES += plugins/bio_dsc.la
plugins_bio_dsc_la_SOURCES = plugins/bio/dsc.c
plugins_bio_dsc_la_CFLAGS = $(plugin_cflags)
plugins_bio_dsc_la_LDFLAGS = $(plugin_ldflags)
plugins_bio_dsc_la_LIBADD = $(plugin_libs)

# Method, formulas and references of bio.dsc.
EXTRA_DIST += doc/biomarkers/dsc.md

# The rCBV pipeline and its page.
dist_pipeline_DATA += pipelines/dsc-rcbv.yaml
EXTRA_DIST += doc/pipelines/dsc-rcbv.md

# bench/dsc: `make bench-dsc` times BSW-corrected CBV on a 128x128x25 x 60
# series against the same computation in numpy.
EXTRA_DIST += bench/dsc/run.sh bench/dsc/ref.py bench/dsc/bench.yaml
bench-dsc: qib$(EXEEXT) $(plugin_LTLIBRARIES)
	QIB='$(abs_top_builddir)/qib$(EXEEXT)' QIB_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs' \
	  sh '$(abs_top_srcdir)/bench/dsc/run.sh'
.PHONY: bench-dsc
