# plugins/reg.mk: registration in libqib; reg.rigid, reg.affine, reg.apply,
# read.transform and write.transform (included by Makefile.am).

core_libqib_la_SOURCES += core/registration.c core/registration.h

plugin_LTLIBRARIES += plugins/reg_rigid.la
plugins_reg_rigid_la_SOURCES = plugins/reg/rigid.c
plugins_reg_rigid_la_CFLAGS = $(plugin_cflags)
plugins_reg_rigid_la_LDFLAGS = $(plugin_ldflags)
plugins_reg_rigid_la_LIBADD = $(plugin_libs)

plugin_LTLIBRARIES += plugins/reg_affine.la
plugins_reg_affine_la_SOURCES = plugins/reg/affine.c
plugins_reg_affine_la_CFLAGS = $(plugin_cflags)
plugins_reg_affine_la_LDFLAGS = $(plugin_ldflags)
plugins_reg_affine_la_LIBADD = $(plugin_libs)

plugin_LTLIBRARIES += plugins/reg_apply.la
plugins_reg_apply_la_SOURCES = plugins/reg/apply.c
plugins_reg_apply_la_CFLAGS = $(plugin_cflags)
plugins_reg_apply_la_LDFLAGS = $(plugin_ldflags)
plugins_reg_apply_la_LIBADD = $(plugin_libs)

plugin_LTLIBRARIES += plugins/read_transform.la
plugins_read_transform_la_SOURCES = plugins/read/transform.c
plugins_read_transform_la_CFLAGS = $(plugin_cflags)
plugins_read_transform_la_LDFLAGS = $(plugin_ldflags)
plugins_read_transform_la_LIBADD = $(plugin_libs) -lm

plugin_LTLIBRARIES += plugins/write_transform.la
plugins_write_transform_la_SOURCES = plugins/write/transform.c
plugins_write_transform_la_CFLAGS = $(plugin_cflags)
plugins_write_transform_la_LDFLAGS = $(plugin_ldflags)
plugins_write_transform_la_LIBADD = $(plugin_libs) -lm

EXTRA_DIST += doc/registration.md bench/registration/run.sh bench/registration/rigid.yaml
