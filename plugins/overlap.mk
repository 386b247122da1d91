# plugins/overlap.mk: agreement of two masks, bio.overlap (included by
# Makefile.am).

plugin_LTLIBRARIES += plugins/bio_overlap.la
plugins_bio_overlap_la_SOURCES = plugins/bio/overlap.c
plugins_bio_overlap_la_CFLAGS = $(plugin_cflags)
plugins_bio_overlap_la_LDFLAGS = $(plugin_ldflags)
plugins_bio_overlap_la_LIBADD = $(plugin_libs)
