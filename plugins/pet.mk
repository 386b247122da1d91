# plugins/pet.mk: PET biomarker plugins (included by Makefile.am).

plugin_LTLIBRARIES += plugins/bio_suv.la
plugins_bio_suv_la_SOURCES = plugins/bio/suv.c
plugins_bio_suv_la_CFLAGS = $(plugin_cflags)
plugins_bio_suv_la_LDFLAGS = $(plugin_ldflags)
plugins_bio_suv_la_LIBADD = $(plugin_libs)

qib_SOURCES += core/phantom_nema.c

plugin_LTLIBRARIES += plugins/bio_recovery.la
plugins_bio_recovery_la_SOURCES = plugins/bio/recovery.c
plugins_bio_recovery_la_CFLAGS = $(plugin_cflags)
plugins_bio_recovery_la_LDFLAGS = $(plugin_ldflags)
plugins_bio_recovery_la_LIBADD = $(plugin_libs)
