# t/data.mk: tests of libqib's data types (included by Makefile.am).
check_PROGRAMS += \
	t/t0001-status \
	t/t0002-geometry \
	t/t0003-volume \
	t/t0004-table \
	t/t0005-meta \
	t/t0006-transform \
	t/t0007-pool \
	t/t0008-sha256
TESTS += \
	t/t0001-status \
	t/t0002-geometry \
	t/t0003-volume \
	t/t0004-table \
	t/t0005-meta \
	t/t0006-transform \
	t/t0007-pool \
	t/t0008-sha256
t_t0001_status_SOURCES = t/t0001-status.c
t_t0001_status_LDADD = $(test_libs)
t_t0002_geometry_SOURCES = t/t0002-geometry.c
t_t0002_geometry_LDADD = $(test_libs)
t_t0003_volume_SOURCES = t/t0003-volume.c
t_t0003_volume_LDADD = $(test_libs)
t_t0004_table_SOURCES = t/t0004-table.c
t_t0004_table_LDADD = $(test_libs)
t_t0005_meta_SOURCES = t/t0005-meta.c
t_t0005_meta_LDADD = $(test_libs)
t_t0006_transform_SOURCES = t/t0006-transform.c
t_t0006_transform_LDADD = $(test_libs)
t_t0007_pool_SOURCES = t/t0007-pool.c
t_t0007_pool_LDADD = $(test_libs)
t_t0008_sha256_SOURCES = t/t0008-sha256.c
t_t0008_sha256_LDADD = $(test_libs)
