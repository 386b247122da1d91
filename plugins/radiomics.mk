# plugins/radiomics.mk: resampling in libqib, reg.resample and bio.radiomics
# (included by Makefile.am).

core_libqib_la_SOURCES += core/resample.c

plugin_LTLIBRARIES += plugins/bio_radiomics.la
plugins_bio_radiomics_la_SOURCES = plugins/bio/radiomics/radiomics.c \
	plugins/bio/radiomics/rad.h plugins/bio/radiomics/texture.c \
	plugins/bio/radiomics/firstorder.c plugins/bio/radiomics/morph.c
plugins_bio_radiomics_la_CFLAGS = $(plugin_cflags)
plugins_bio_radiomics_la_LDFLAGS = $(plugin_ldflags)
plugins_bio_radiomics_la_LIBADD = $(plugin_libs) -lm

plugin_LTLIBRARIES += plugins/reg_resample.la
plugins_reg_resample_la_SOURCES = plugins/reg/resample.c
plugins_reg_resample_la_CFLAGS = $(plugin_cflags)
plugins_reg_resample_la_LDFLAGS = $(plugin_ldflags)
plugins_reg_resample_la_LIBADD = $(plugin_libs)
