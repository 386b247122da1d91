# plugins/pet.mk: PET biomarker plugins (included by Makefile.am).

plugin_LTLIBRARIES += plugins/bio_suv.la
plugins_bio_suv_la_SOURCES = plugins/bio/suv.c
plugins_bio_suv_la_CFLAGS = $(plugin_cflags)
plugins_bio_suv_la_LDFLAGS = $(plugin_ldflags)
plugins_bio_suv_la_LIBADD = $(plugin_libs)

