# plugins/percist.mk: PERCIST 1.0 plugins (included by Makefile.am): the
# reference region of one scan, and the response between two scans.

plugin_LTLIBRARIES += plugins/bio_percist_ref.la
plugins_bio_percist_ref_la_SOURCES = plugins/bio/percist_ref.c
plugins_bio_percist_ref_la_CFLAGS = $(plugin_cflags)
plugins_bio_percist_ref_la_LDFLAGS = $(plugin_ldflags)
plugins_bio_percist_ref_la_LIBADD = $(plugin_libs)

plugin_LTLIBRARIES += plugins/bio_percist.la
plugins_bio_percist_la_SOURCES = plugins/bio/percist.c
plugins_bio_percist_la_CFLAGS = $(plugin_cflags)
plugins_bio_percist_la_LDFLAGS = $(plugin_ldflags)
plugins_bio_percist_la_LIBADD = $(plugin_libs)
