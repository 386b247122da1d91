# t/bio.mk: tests of bio.intensity, export.csv and export.json (included by
# Makefile.am).

EXTRA_DIST += t/t0400-util.h

check_PROGRAMS += t/t0401-intensity-hand
TESTS += t/t0401-intensity-hand
t_t0401_intensity_hand_SOURCES = t/t0401-intensity-hand.c t/t0400-util.h
t_t0401_intensity_hand_LDADD = $(test_libs)

check_PROGRAMS += t/t0402-intensity-reseg
TESTS += t/t0402-intensity-reseg
t_t0402_intensity_reseg_SOURCES = t/t0402-intensity-reseg.c t/t0400-util.h
t_t0402_intensity_reseg_LDADD = $(test_libs)

check_PROGRAMS += t/t0403-intensity-grid
TESTS += t/t0403-intensity-grid
t_t0403_intensity_grid_SOURCES = t/t0403-intensity-grid.c t/t0400-util.h
t_t0403_intensity_grid_LDADD = $(test_libs)

check_PROGRAMS += t/t0404-intensity-threads
TESTS += t/t0404-intensity-threads
t_t0404_intensity_threads_SOURCES = t/t0404-intensity-threads.c t/t0400-util.h
t_t0404_intensity_threads_LDADD = $(test_libs)

check_PROGRAMS += t/t0410-export-csv
TESTS += t/t0410-export-csv
t_t0410_export_csv_SOURCES = t/t0410-export-csv.c t/t0400-util.h
t_t0410_export_csv_LDADD = $(test_libs)

check_PROGRAMS += t/t0420-export-json
TESTS += t/t0420-export-json
t_t0420_export_json_SOURCES = t/t0420-export-json.c t/t0400-util.h
t_t0420_export_json_LDADD = $(test_libs)

check_PROGRAMS += t/t0405-intensity-ibsi
TESTS += t/t0405-intensity-ibsi
t_t0405_intensity_ibsi_SOURCES = t/t0405-intensity-ibsi.c t/t0400-util.h
t_t0405_intensity_ibsi_LDADD = $(test_libs)

TESTS += t/t0430-intensity-pipeline.sh
EXTRA_DIST += t/t0430-intensity-pipeline.sh
