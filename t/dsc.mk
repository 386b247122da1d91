# t/dsc.mk: tests of bio.dsc, qib phantom dsc and the dsc-rcbv pipeline (included by Makefile.am).

EXTRA_DIST += t/t1300-dsc-util.h

check_PROGRAMS += t/t1301-dsc-hand
TESTS += t/t1301-dsc-hand
t_t1301_dsc_hand_SOURCES = t/t1301-dsc-hand.c t/t1300-dsc-util.h
t_t1301_dsc_hand_LDADD = $(test_libs)

check_PROGRAMS += t/t1302-dsc-osipi
TESTS += t/t1302-dsc-osipi
t_t1302_dsc_osipi_SOURCES = t/t1302-dsc-osipi.c t/t1300-dsc-util.h
t_t1302_dsc_osipi_LDADD = $(test_libs)

# The digital reference object through the shipped pipeline.
TESTS += t/t1310-dsc-phantom.sh
EXTRA_DIST += t/t1310-dsc-phantom.sh
