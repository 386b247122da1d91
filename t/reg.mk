# t/reg.mk: tests of registration, reg.apply and the transform readers and
# writers (included by Makefile.am).

EXTRA_DIST += t/t1000-reg-util.h

check_PROGRAMS += t/t1003-reg-itk2d
TESTS += t/t1003-reg-itk2d
t_t1003_reg_itk2d_SOURCES = t/t1003-reg-itk2d.c t/t1000-reg-util.h
t_t1003_reg_itk2d_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
t_t1003_reg_itk2d_LDADD = $(test_libs) $(ZLIB_LIBS) $(LIBM)

check_PROGRAMS += t/t1004-reg-nibabel
TESTS += t/t1004-reg-nibabel
t_t1004_reg_nibabel_SOURCES = t/t1004-reg-nibabel.c t/t1000-reg-util.h
t_t1004_reg_nibabel_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
t_t1004_reg_nibabel_LDADD = $(test_libs) $(ZLIB_LIBS) $(LIBM)

check_PROGRAMS += t/t1001-transform-io
TESTS += t/t1001-transform-io
t_t1001_transform_io_SOURCES = t/t1001-transform-io.c t/t1000-reg-util.h
t_t1001_transform_io_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
t_t1001_transform_io_LDADD = $(test_libs) $(ZLIB_LIBS) $(LIBM)

check_PROGRAMS += t/t1002-reg-apply
TESTS += t/t1002-reg-apply
t_t1002_reg_apply_SOURCES = t/t1002-reg-apply.c t/t1000-reg-util.h
t_t1002_reg_apply_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
t_t1002_reg_apply_LDADD = $(test_libs) $(ZLIB_LIBS) $(LIBM)

check_PROGRAMS += t/t1005-reg-synthetic
TESTS += t/t1005-reg-synthetic
t_t1005_reg_synthetic_SOURCES = t/t1005-reg-synthetic.c t/t1000-reg-util.h
t_t1005_reg_synthetic_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
t_t1005_reg_synthetic_LDADD = $(test_libs) $(ZLIB_LIBS) $(LIBM)

TESTS += t/t1006-reg-pipeline.sh
EXTRA_DIST += t/t1006-reg-pipeline.sh
