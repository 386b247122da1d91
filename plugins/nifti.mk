# plugins/nifti.mk: read.nifti and write.nifti (included by Makefile.am).
# Both share the header layout in plugins/nifti-format.h (static inline only,
# so each module still exports its one entry symbol).
plugin_LTLIBRARIES += plugins/read_nifti.la
plugins_read_nifti_la_SOURCES = plugins/read/nifti.c plugins/nifti-format.h
plugins_read_nifti_la_CFLAGS = $(plugin_cflags) $(ZLIB_CFLAGS)
plugins_read_nifti_la_LDFLAGS = $(plugin_ldflags)
plugins_read_nifti_la_LIBADD = $(plugin_libs) $(ZLIB_LIBS) $(ISAL_LIBS)

plugin_LTLIBRARIES += plugins/write_nifti.la
plugins_write_nifti_la_SOURCES = plugins/write/nifti.c plugins/nifti-format.h
plugins_write_nifti_la_CFLAGS = $(plugin_cflags) $(ZLIB_CFLAGS)
plugins_write_nifti_la_LDFLAGS = $(plugin_ldflags)
plugins_write_nifti_la_LIBADD = $(plugin_libs) $(ZLIB_LIBS) $(ISAL_LIBS)

# The reader's and writer's documented choices, and their benchmarks.
EXTRA_DIST += doc/nifti.md bench/nifti-read bench/nifti-write bench/nifti_bench.py
