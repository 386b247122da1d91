# t/data.mk: rules for this part of the tree (included by Makefile.am).
