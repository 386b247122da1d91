# core/data.mk: libqib's data types (included by Makefile.am).
core_libqib_la_SOURCES += \
	core/status.c
