# t/overlap.mk: tests of bio.overlap (included by Makefile.am).

check_PROGRAMS += t/t0850-overlap-hand
TESTS += t/t0850-overlap-hand
t_t0850_overlap_hand_SOURCES = t/t0850-overlap-hand.c t/t0400-util.h
t_t0850_overlap_hand_LDADD = $(test_libs)

check_PROGRAMS += t/t0851-overlap-scipy
TESTS += t/t0851-overlap-scipy
t_t0851_overlap_scipy_SOURCES = t/t0851-overlap-scipy.c t/t0400-util.h
t_t0851_overlap_scipy_LDADD = $(test_libs)
EXTRA_DIST += t/t0851-overlap-scipy.py

check_PROGRAMS += t/t0852-overlap-errors
TESTS += t/t0852-overlap-errors
t_t0852_overlap_errors_SOURCES = t/t0852-overlap-errors.c t/t0400-util.h
t_t0852_overlap_errors_LDADD = $(test_libs)
