# t/cohort.mk: tests of qib batch, status, gather, reproduce and stats (included by Makefile.am).
TESTS += \
	t/t0801-batch.sh \
	t/t0802-batch-invalid.sh \
	t/t0803-reproduce.sh \
	t/t0806-stats-cli.sh \
	t/t0807-batch-signals.sh \
	t/t0808-slurm.sh \
	t/t0809-slurm-states.sh
EXTRA_DIST += \
	t/t0800-lib.sh \
	t/t0801-batch.sh \
	t/t0802-batch-invalid.sh \
	t/t0803-reproduce.sh \
	t/t0806-stats-cli.sh \
	t/t0807-batch-signals.sh \
	t/t0808-slurm.sh \
	t/t0809-slurm-states.sh

# The CSV and JSON readers and the case identifier rule, as a C program
# (cohort.c is part of the qib command, not of libqib).
check_PROGRAMS += t/t0804-cohort-csv
TESTS += t/t0804-cohort-csv
t_t0804_cohort_csv_SOURCES = t/t0804-cohort-csv.c core/cohort.c core/cohort.h
t_t0804_cohort_csv_LDADD = $(test_libs)

# Repeatability statistics (core/stats.c), hand-worked and published values.
check_PROGRAMS += t/t0805-stats
TESTS += t/t0805-stats
t_t0805_stats_SOURCES = t/t0805-stats.c core/stats.c core/cohort.c core/cohort.h
t_t0805_stats_CFLAGS = $(AM_CFLAGS) $(PNG_CFLAGS)
t_t0805_stats_LDADD = $(test_libs) $(PNG_LIBS)
