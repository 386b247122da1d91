# core/cohort.mk: cohorts -- qib batch, status, gather, reproduce (included by Makefile.am).
qib_SOURCES += \
	core/cohort.h \
	core/cohort.c \
	core/cmd_batch.c \
	core/stats.c
qib_CFLAGS += $(PNG_CFLAGS) $(ZLIB_CFLAGS)
qib_LDADD += $(PNG_LIBS) $(ZLIB_LIBS)

dist_doc_DATA += doc/cohorts.md doc/repeatability.md
