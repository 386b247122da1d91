# t/nifti.mk: tests of read.nifti and write.nifti (included by Makefile.am).

EXTRA_DIST += t/t0300-nifti-util.h

check_PROGRAMS += t/t0301-nifti-refdata
TESTS += t/t0301-nifti-refdata
t_t0301_nifti_refdata_SOURCES = t/t0301-nifti-refdata.c t/t0300-nifti-util.h
t_t0301_nifti_refdata_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
t_t0301_nifti_refdata_LDADD = $(test_libs) $(ZLIB_LIBS)

check_PROGRAMS += t/t0302-nifti-read-synth
TESTS += t/t0302-nifti-read-synth
t_t0302_nifti_read_synth_SOURCES = t/t0302-nifti-read-synth.c t/t0300-nifti-util.h
t_t0302_nifti_read_synth_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
t_t0302_nifti_read_synth_LDADD = $(test_libs) $(ZLIB_LIBS) $(LIBM)

check_PROGRAMS += t/t0303-nifti-read-bad
TESTS += t/t0303-nifti-read-bad
t_t0303_nifti_read_bad_SOURCES = t/t0303-nifti-read-bad.c t/t0300-nifti-util.h
t_t0303_nifti_read_bad_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
t_t0303_nifti_read_bad_LDADD = $(test_libs) $(ZLIB_LIBS) $(LIBM)

check_PROGRAMS += t/t0304-nifti-write
TESTS += t/t0304-nifti-write
t_t0304_nifti_write_SOURCES = t/t0304-nifti-write.c t/t0300-nifti-util.h
t_t0304_nifti_write_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
t_t0304_nifti_write_LDADD = $(test_libs) $(ZLIB_LIBS) $(LIBM)

check_PROGRAMS += t/t0305-nifti-nibabel
TESTS += t/t0305-nifti-nibabel
EXTRA_DIST += t/t0305-nifti-nibabel.py
t_t0305_nifti_nibabel_SOURCES = t/t0305-nifti-nibabel.c t/t0300-nifti-util.h
t_t0305_nifti_nibabel_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
t_t0305_nifti_nibabel_LDADD = $(test_libs) $(ZLIB_LIBS) $(LIBM)

TESTS += t/t0307-nifti-same-bytes.sh
EXTRA_DIST += t/t0307-nifti-same-bytes.sh

# The fuzz target of read.nifti, replayed on generated seeds and mutations.
check_PROGRAMS += t/t0306-nifti-fuzz-replay
TESTS += t/t0306-nifti-fuzz-replay
EXTRA_DIST += t/fuzz/nifti-fuzz.c
t_t0306_nifti_fuzz_replay_SOURCES = t/t0306-nifti-fuzz-replay.c t/t0300-nifti-util.h
t_t0306_nifti_fuzz_replay_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/t
t_t0306_nifti_fuzz_replay_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
t_t0306_nifti_fuzz_replay_LDADD = $(test_libs) $(ZLIB_LIBS) $(LIBM)
