# core/engine.mk: the plugin loader, parameters, step context, harness, and
# the qib command's dispatcher (included by Makefile.am).
core_libqib_la_SOURCES += \
	core/engine.h \
	core/loader.c \
	core/params.c \
	core/step.c \
	core/harness.c

# The qib command.  Other parts of core/ add their subcommands' sources to
# qib_SOURCES in their own fragments.
bin_PROGRAMS += qib
qib_SOURCES = core/qib.c core/cli.h core/cmd_plugins.c
qib_LDADD = core/libqib.la
qib_CFLAGS = $(AM_CFLAGS)
