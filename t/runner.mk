# t/runner.mk: tests of the pipeline parser, validator and runner (included by Makefile.am).
