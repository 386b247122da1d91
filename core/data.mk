# core/data.mk: libqib's data types (included by Makefile.am).
core_libqib_la_SOURCES += \
	core/status.c \
	core/version.c \
	core/meta.c \
	core/geometry.c \
	core/volume.c \
	core/table.c \
	core/transform.c \
	core/pool.c \
	core/sha256.c \
	core/data-internal.h
