# t/seg.mk: tests of the segmentation plugins and export.png (included by
# Makefile.am).  The cross-checks run t/t0500-ref.py with /usr/bin/python3
# (numpy, scipy, scikit-image) and skip when those are missing.

EXTRA_DIST += t/t0500-util.h t/t0500-ref.py

check_PROGRAMS += t/t0501-threshold
TESTS += t/t0501-threshold
t_t0501_threshold_SOURCES = t/t0501-threshold.c t/t0500-util.h
t_t0501_threshold_LDADD = $(test_libs)

check_PROGRAMS += t/t0502-components
TESTS += t/t0502-components
t_t0502_components_SOURCES = t/t0502-components.c t/t0500-util.h
t_t0502_components_LDADD = $(test_libs)

check_PROGRAMS += t/t0503-morphology
TESTS += t/t0503-morphology
t_t0503_morphology_SOURCES = t/t0503-morphology.c t/t0500-util.h
t_t0503_morphology_LDADD = $(test_libs)

check_PROGRAMS += t/t0504-mask-ops
TESTS += t/t0504-mask-ops
t_t0504_mask_ops_SOURCES = t/t0504-mask-ops.c t/t0500-util.h
t_t0504_mask_ops_LDADD = $(test_libs)

check_PROGRAMS += t/t0505-sphere
TESTS += t/t0505-sphere
t_t0505_sphere_SOURCES = t/t0505-sphere.c t/t0500-util.h
t_t0505_sphere_LDADD = $(test_libs)

check_PROGRAMS += t/t0506-labels
TESTS += t/t0506-labels
t_t0506_labels_SOURCES = t/t0506-labels.c t/t0500-util.h
t_t0506_labels_LDADD = $(test_libs)

check_PROGRAMS += t/t0507-region-grow
TESTS += t/t0507-region-grow
t_t0507_region_grow_SOURCES = t/t0507-region-grow.c t/t0500-util.h
t_t0507_region_grow_LDADD = $(test_libs)

check_PROGRAMS += t/t0510-png
TESTS += t/t0510-png
t_t0510_png_SOURCES = t/t0510-png.c t/t0500-util.h
t_t0510_png_CFLAGS = $(AM_CFLAGS) $(PNG_CFLAGS)
t_t0510_png_LDADD = $(test_libs) $(PNG_LIBS)

TESTS += t/t0520-seg-pipeline.sh
EXTRA_DIST += t/t0520-seg-pipeline.sh t/t0520-seg-pipeline.yaml
