# t/pet.mk: tests of bio.suv (included by Makefile.am).

check_PROGRAMS += t/t1101-suv-hand
TESTS += t/t1101-suv-hand
t_t1101_suv_hand_SOURCES = t/t1101-suv-hand.c t/t0400-util.h
t_t1101_suv_hand_LDADD = $(test_libs)

check_PROGRAMS += t/t1102-suv-ibsi
TESTS += t/t1102-suv-ibsi
t_t1102_suv_ibsi_SOURCES = t/t1102-suv-ibsi.c t/t0400-util.h
t_t1102_suv_ibsi_LDADD = $(test_libs)
