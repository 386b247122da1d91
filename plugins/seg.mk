# plugins/seg.mk: segmentation plugins and export.png (included by Makefile.am).

plugin_LTLIBRARIES += plugins/seg_threshold.la
plugins_seg_threshold_la_SOURCES = plugins/seg/threshold.c
plugins_seg_threshold_la_CFLAGS = $(plugin_cflags)
plugins_seg_threshold_la_LDFLAGS = $(plugin_ldflags)
plugins_seg_threshold_la_LIBADD = $(plugin_libs)

plugin_LTLIBRARIES += plugins/seg_components.la
plugins_seg_components_la_SOURCES = plugins/seg/components.c
plugins_seg_components_la_CFLAGS = $(plugin_cflags)
plugins_seg_components_la_LDFLAGS = $(plugin_ldflags)
plugins_seg_components_la_LIBADD = $(plugin_libs)

plugin_LTLIBRARIES += plugins/seg_morphology.la
plugins_seg_morphology_la_SOURCES = plugins/seg/morphology.c
plugins_seg_morphology_la_CFLAGS = $(plugin_cflags)
plugins_seg_morphology_la_LDFLAGS = $(plugin_ldflags)
plugins_seg_morphology_la_LIBADD = $(plugin_libs)

plugin_LTLIBRARIES += plugins/seg_mask_ops.la
plugins_seg_mask_ops_la_SOURCES = plugins/seg/mask_ops.c
plugins_seg_mask_ops_la_CFLAGS = $(plugin_cflags)
plugins_seg_mask_ops_la_LDFLAGS = $(plugin_ldflags)
plugins_seg_mask_ops_la_LIBADD = $(plugin_libs)

plugin_LTLIBRARIES += plugins/seg_sphere.la
plugins_seg_sphere_la_SOURCES = plugins/seg/sphere.c
plugins_seg_sphere_la_CFLAGS = $(plugin_cflags)
plugins_seg_sphere_la_LDFLAGS = $(plugin_ldflags)
plugins_seg_sphere_la_LIBADD = $(plugin_libs)

plugin_LTLIBRARIES += plugins/seg_labels.la
plugins_seg_labels_la_SOURCES = plugins/seg/labels.c
plugins_seg_labels_la_CFLAGS = $(plugin_cflags)
plugins_seg_labels_la_LDFLAGS = $(plugin_ldflags)
plugins_seg_labels_la_LIBADD = $(plugin_libs)

plugin_LTLIBRARIES += plugins/seg_region_grow.la
plugins_seg_region_grow_la_SOURCES = plugins/seg/region_grow.c
plugins_seg_region_grow_la_CFLAGS = $(plugin_cflags)
plugins_seg_region_grow_la_LDFLAGS = $(plugin_ldflags)
plugins_seg_region_grow_la_LIBADD = $(plugin_libs)

plugin_LTLIBRARIES += plugins/export_png.la
plugins_export_png_la_SOURCES = plugins/export/png.c
plugins_export_png_la_CFLAGS = $(plugin_cflags) $(PNG_CFLAGS)
plugins_export_png_la_LDFLAGS = $(plugin_ldflags)
plugins_export_png_la_LIBADD = $(plugin_libs) $(PNG_LIBS)

# Conventions, cross-checks and benchmark of the plugins above.
EXTRA_DIST += doc/segmentation.md doc/img/seg-axial.png doc/img/seg-coronal.png \
	doc/img/seg-mip.png doc/img/seg-sagittal.png doc/img/seg-montage.png

# bench/seg: `make bench-seg` times Otsu + 26-connected labelling +
# keep-largest on a 512x512x300 CT-like volume against scikit-image/scipy.
EXTRA_PROGRAMS += bench/seg/seg-bench
bench_seg_seg_bench_SOURCES = bench/seg/bench.c
bench_seg_seg_bench_LDADD = core/libqib.la -lm
EXTRA_DIST += bench/seg/ref.py
CLEANFILES += bench/seg/seg-bench$(EXEEXT)

bench-seg: bench/seg/seg-bench$(EXEEXT) $(plugin_LTLIBRARIES)
	top_srcdir='$(abs_top_srcdir)' QIB_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs' \
	  ./bench/seg/seg-bench$(EXEEXT)
.PHONY: bench-seg
