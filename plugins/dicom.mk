# plugins/dicom.mk: the DICOM parser (core/dicom.c, private to libqib),
# read.dicom (plugins/read/dicom/) and read.rtstruct (included by Makefile.am).
core_libqib_la_SOURCES += core/dicom.c core/dicom.h

# read.dicom: a module of several files; only qib_plugin_entry is exported.
plugin_LTLIBRARIES += plugins/read_dicom.la
plugins_read_dicom_la_SOURCES = plugins/read/dicom/dicom.c plugins/read/dicom/suv.c \
	plugins/read/dicom/suv.h
plugins_read_dicom_la_CFLAGS = $(plugin_cflags)
plugins_read_dicom_la_LDFLAGS = $(plugin_ldflags)
plugins_read_dicom_la_LIBADD = $(plugin_libs) $(LIBM)

plugin_LTLIBRARIES += plugins/read_rtstruct.la
plugins_read_rtstruct_la_SOURCES = plugins/read/rtstruct.c
plugins_read_rtstruct_la_CFLAGS = $(plugin_cflags)
plugins_read_rtstruct_la_LDFLAGS = $(plugin_ldflags)
plugins_read_rtstruct_la_LIBADD = $(plugin_libs) $(LIBM)

EXTRA_DIST += doc/dicom.md doc/suv.md
EXTRA_DIST += bench/dicom-read
