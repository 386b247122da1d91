# t/engine.mk: tests of the plugin loader, parameters, step context, harness
# and the qib command's plugins/describe (included by Makefile.am).

# Fixture modules: built as shared modules (not installed) into
# t/fixtures/.libs/; each loader test copies the ones it wants into a
# directory of its own.
fixture_ldflags = $(AM_LDFLAGS) -module -avoid-version -shared -rpath /nowhere
check_LTLIBRARIES += \
	t/fixtures/fixture_add.la \
	t/fixtures/fixture_dup.la \
	t/fixtures/fixture_major.la \
	t/fixtures/fixture_minor.la \
	t/fixtures/fixture_small.la \
	t/fixtures/fixture_badenum.la \
	t/fixtures/fixture_null.la \
	t/fixtures/fixture_noentry.la \
	t/fixtures/fixture_unresolved.la

t_fixtures_fixture_add_la_SOURCES = t/fixtures/fixture_add.c
t_fixtures_fixture_add_la_CFLAGS = $(plugin_cflags)
t_fixtures_fixture_add_la_LDFLAGS = $(fixture_ldflags) -no-undefined
t_fixtures_fixture_add_la_LIBADD = $(plugin_libs)

t_fixtures_fixture_dup_la_SOURCES = t/fixtures/fixture_add.c
t_fixtures_fixture_dup_la_CFLAGS = $(plugin_cflags) -DFIXTURE_DUP
t_fixtures_fixture_dup_la_LDFLAGS = $(fixture_ldflags) -no-undefined
t_fixtures_fixture_dup_la_LIBADD = $(plugin_libs)

t_fixtures_fixture_major_la_SOURCES = t/fixtures/fixture_abi.c
t_fixtures_fixture_major_la_CFLAGS = $(plugin_cflags) -DFIXTURE_CASE=1
t_fixtures_fixture_major_la_LDFLAGS = $(fixture_ldflags)
t_fixtures_fixture_major_la_LIBADD = $(plugin_libs)

t_fixtures_fixture_minor_la_SOURCES = t/fixtures/fixture_abi.c
t_fixtures_fixture_minor_la_CFLAGS = $(plugin_cflags) -DFIXTURE_CASE=2
t_fixtures_fixture_minor_la_LDFLAGS = $(fixture_ldflags)
t_fixtures_fixture_minor_la_LIBADD = $(plugin_libs)

t_fixtures_fixture_small_la_SOURCES = t/fixtures/fixture_abi.c
t_fixtures_fixture_small_la_CFLAGS = $(plugin_cflags) -DFIXTURE_CASE=3
t_fixtures_fixture_small_la_LDFLAGS = $(fixture_ldflags)
t_fixtures_fixture_small_la_LIBADD = $(plugin_libs)

t_fixtures_fixture_badenum_la_SOURCES = t/fixtures/fixture_abi.c
t_fixtures_fixture_badenum_la_CFLAGS = $(plugin_cflags) -DFIXTURE_CASE=4
t_fixtures_fixture_badenum_la_LDFLAGS = $(fixture_ldflags)
t_fixtures_fixture_badenum_la_LIBADD = $(plugin_libs)

t_fixtures_fixture_null_la_SOURCES = t/fixtures/fixture_abi.c
t_fixtures_fixture_null_la_CFLAGS = $(plugin_cflags) -DFIXTURE_CASE=5
t_fixtures_fixture_null_la_LDFLAGS = $(fixture_ldflags)
t_fixtures_fixture_null_la_LIBADD = $(plugin_libs)

t_fixtures_fixture_noentry_la_SOURCES = t/fixtures/fixture_noentry.c
t_fixtures_fixture_noentry_la_CFLAGS = $(plugin_cflags)
t_fixtures_fixture_noentry_la_LDFLAGS = $(fixture_ldflags)

# Deliberately linked without -no-undefined: it references a function that
# no library defines.
t_fixtures_fixture_unresolved_la_SOURCES = t/fixtures/fixture_unresolved.c
t_fixtures_fixture_unresolved_la_CFLAGS = $(plugin_cflags)
t_fixtures_fixture_unresolved_la_LDFLAGS = $(fixture_ldflags)
t_fixtures_fixture_unresolved_la_LIBADD = $(plugin_libs)

check_PROGRAMS += t/t0100-loader
TESTS += t/t0100-loader
t_t0100_loader_SOURCES = t/t0100-loader.c
t_t0100_loader_LDADD = $(test_libs)

check_PROGRAMS += t/t0104-harness
TESTS += t/t0104-harness
t_t0104_harness_SOURCES = t/t0104-harness.c
t_t0104_harness_LDADD = $(test_libs)

check_PROGRAMS += t/t0101-descriptor
TESTS += t/t0101-descriptor
t_t0101_descriptor_SOURCES = t/t0101-descriptor.c
t_t0101_descriptor_LDADD = $(test_libs)

check_PROGRAMS += t/t0102-params
TESTS += t/t0102-params
t_t0102_params_SOURCES = t/t0102-params.c
t_t0102_params_LDADD = $(test_libs)

check_PROGRAMS += t/t0103-step
TESTS += t/t0103-step
t_t0103_step_SOURCES = t/t0103-step.c
t_t0103_step_LDADD = $(test_libs)

# doc/writing-plugins.md followed step by step.
TESTS += t/t0150-out-of-tree.sh
EXTRA_DIST += t/t0150-out-of-tree.sh qib-uninstalled.pc.in

# doc/plugins/ agrees with the descriptors.
TESTS += t/t0160-doc-plugins.sh
EXTRA_DIST += t/t0160-doc-plugins.sh

# qib plugins / describe and the dispatcher.
TESTS += t/t0110-cli.sh
EXTRA_DIST += t/t0110-cli.sh
