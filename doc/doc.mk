# doc/doc.mk: the manual (included by Makefile.am).
# The plugin author's guide and its example are installed with the headers
# they document.
dist_doc_DATA += doc/writing-plugins.md
docexamplesdir = $(docdir)/examples
dist_docexamples_DATA = doc/examples/bio_example.c doc/examples/test_example.c
EXTRA_DIST += doc/plugins

# The reference page of each plugin, doc/plugins/<kind>.<name>.md, is the
# output of `qib describe --markdown`, so it can never disagree with the
# descriptor.  Regenerate after changing a descriptor, and commit the pages:
# t/t0160-doc-plugins.sh fails when a page differs.  Only plugins built in
# this tree get a page (not ones installed elsewhere on the system).
doc-plugins: qib $(plugin_LTLIBRARIES)
	$(AM_V_GEN)$(MKDIR_P) $(srcdir)/doc/plugins && \
	QIB_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs'; export QIB_PLUGIN_PATH; \
	names=`./qib plugins 2>/dev/null | \
	  awk -v dir='$(abs_top_builddir)/plugins/.libs/' 'NR > 1 && index($$NF, dir) == 1 { print $$1 }'`; \
	test -n "$$names" || { echo "doc-plugins: no plugin built" >&2; exit 1; }; \
	for n in $$names; do \
	  ./qib describe --markdown "$$n" > "$(srcdir)/doc/plugins/$$n.md-t" && \
	  mv "$(srcdir)/doc/plugins/$$n.md-t" "$(srcdir)/doc/plugins/$$n.md" || exit 1; \
	  echo "  doc/plugins/$$n.md"; \
	done
.PHONY: doc-plugins
