# t/runner.mk: tests of the pipeline parser, validator and runner (included by Makefile.am).

# Fixture plugins of the runner tests, built into t/fixtures/runner/.libs/
# (the tests point QIB_PLUGIN_PATH there, so messages and suggestions do not
# depend on which real plugins exist).
rt_fixture_ldflags = $(AM_LDFLAGS) -module -avoid-version -shared -no-undefined -rpath /nowhere
check_LTLIBRARIES += \
	t/fixtures/runner/read_rt_source.la \
	t/fixtures/runner/seg_rt_inplace.la \
	t/fixtures/runner/seg_rt_threshold.la \
	t/fixtures/runner/bio_rt_stats.la \
	t/fixtures/runner/export_rt_csv.la
t_fixtures_runner_read_rt_source_la_SOURCES = t/fixtures/runner/read_rt_source.c
t_fixtures_runner_read_rt_source_la_CFLAGS = $(plugin_cflags)
t_fixtures_runner_read_rt_source_la_LDFLAGS = $(rt_fixture_ldflags)
t_fixtures_runner_read_rt_source_la_LIBADD = $(plugin_libs)
t_fixtures_runner_seg_rt_inplace_la_SOURCES = t/fixtures/runner/seg_rt_inplace.c
t_fixtures_runner_seg_rt_inplace_la_CFLAGS = $(plugin_cflags)
t_fixtures_runner_seg_rt_inplace_la_LDFLAGS = $(rt_fixture_ldflags)
t_fixtures_runner_seg_rt_inplace_la_LIBADD = $(plugin_libs)
t_fixtures_runner_seg_rt_threshold_la_SOURCES = t/fixtures/runner/seg_rt_threshold.c
t_fixtures_runner_seg_rt_threshold_la_CFLAGS = $(plugin_cflags)
t_fixtures_runner_seg_rt_threshold_la_LDFLAGS = $(rt_fixture_ldflags)
t_fixtures_runner_seg_rt_threshold_la_LIBADD = $(plugin_libs)
t_fixtures_runner_bio_rt_stats_la_SOURCES = t/fixtures/runner/bio_rt_stats.c
t_fixtures_runner_bio_rt_stats_la_CFLAGS = $(plugin_cflags)
t_fixtures_runner_bio_rt_stats_la_LDFLAGS = $(rt_fixture_ldflags)
t_fixtures_runner_bio_rt_stats_la_LIBADD = $(plugin_libs)
t_fixtures_runner_export_rt_csv_la_SOURCES = t/fixtures/runner/export_rt_csv.c
t_fixtures_runner_export_rt_csv_la_CFLAGS = $(plugin_cflags)
t_fixtures_runner_export_rt_csv_la_LDFLAGS = $(rt_fixture_ldflags)
t_fixtures_runner_export_rt_csv_la_LIBADD = $(plugin_libs)

# Parser and JSON writer, as C programs.
check_PROGRAMS += t/t0200-yaml t/t0209-json
TESTS += t/t0200-yaml t/t0209-json
t_t0200_yaml_SOURCES = t/t0200-yaml.c
t_t0200_yaml_LDADD = $(test_libs)
t_t0209_json_SOURCES = t/t0209-json.c
t_t0209_json_LDADD = $(test_libs)

# The qib command: validate, run, info.
TESTS += \
	t/t0201-validate-errors.sh \
	t/t0202-validate-cli.sh \
	t/t0203-run.sh \
	t/t0204-last-reader.sh \
	t/t0205-interrupt.sh \
	t/t0206-failure.sh \
	t/t0207-info-real.sh
EXTRA_DIST += \
	t/t0200-lib.sh t/tap.sh \
	t/t0201-validate-errors.sh \
	t/t0202-validate-cli.sh \
	t/t0203-run.sh \
	t/t0204-last-reader.sh \
	t/t0205-interrupt.sh \
	t/t0206-failure.sh \
	t/t0207-info-real.sh \
	t/data/pipelines/rt-good.yaml \
	t/data/pipelines/rt-subst.yaml \
	t/data/pipelines/rt-last.yaml \
	t/data/pipelines/rt-shared.yaml \
	t/data/pipelines/rt-slow.yaml \
	t/data/pipelines/rt-fail.yaml \
	t/data/pipelines/rt-grid.yaml \
	t/data/pipelines/bad-alias-bomb.yaml \
	t/data/pipelines/bad-check.yaml \
	t/data/pipelines/bad-decl.yaml \
	t/data/pipelines/bad-deep.yaml \
	t/data/pipelines/bad-dup-id.yaml \
	t/data/pipelines/bad-dup-key.yaml \
	t/data/pipelines/bad-dup-outfile.yaml \
	t/data/pipelines/bad-not-mapping.yaml \
	t/data/pipelines/bad-out-escape.yaml \
	t/data/pipelines/bad-outputs.yaml \
	t/data/pipelines/bad-param-missing.yaml \
	t/data/pipelines/bad-param-name.yaml \
	t/data/pipelines/bad-param-range.yaml \
	t/data/pipelines/bad-param-type.yaml \
	t/data/pipelines/bad-plugin.yaml \
	t/data/pipelines/bad-port-mask.yaml \
	t/data/pipelines/bad-port-table.yaml \
	t/data/pipelines/bad-port-unknown.yaml \
	t/data/pipelines/bad-port-unwired.yaml \
	t/data/pipelines/bad-ref-later.yaml \
	t/data/pipelines/bad-ref-port.yaml \
	t/data/pipelines/bad-ref-unknown.yaml \
	t/data/pipelines/bad-reserved.yaml \
	t/data/pipelines/bad-subst-input.yaml \
	t/data/pipelines/bad-subst-list.yaml \
	t/data/pipelines/bad-subst-other.yaml \
	t/data/pipelines/bad-subst-param.yaml \
	t/data/pipelines/bad-subst-unclosed.yaml \
	t/data/pipelines/bad-syntax.yaml \
	t/data/pipelines/bad-three.yaml \
	t/data/pipelines/bad-top-key.yaml \
	t/data/pipelines/bad-utf8.yaml \
	t/data/pipelines/bad-version.yaml
