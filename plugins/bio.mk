# plugins/bio.mk: biomarker and export plugins (included by Makefile.am).

plugin_LTLIBRARIES += plugins/bio_intensity.la
plugins_bio_intensity_la_SOURCES = plugins/bio/intensity.c
plugins_bio_intensity_la_CFLAGS = $(plugin_cflags)
plugins_bio_intensity_la_LDFLAGS = $(plugin_ldflags)
plugins_bio_intensity_la_LIBADD = $(plugin_libs)

plugin_LTLIBRARIES += plugins/export_csv.la
plugins_export_csv_la_SOURCES = plugins/export/csv.c
plugins_export_csv_la_CFLAGS = $(plugin_cflags)
plugins_export_csv_la_LDFLAGS = $(plugin_ldflags)
plugins_export_csv_la_LIBADD = $(plugin_libs)

plugin_LTLIBRARIES += plugins/export_json.la
plugins_export_json_la_SOURCES = plugins/export/json.c
plugins_export_json_la_CFLAGS = $(plugin_cflags)
plugins_export_json_la_LDFLAGS = $(plugin_ldflags)
plugins_export_json_la_LIBADD = $(plugin_libs)

# Definitions, formulas and references of bio.intensity's columns, and the
# CSV and JSON formats of the export plugins.
EXTRA_DIST += doc/biomarkers/intensity.md
