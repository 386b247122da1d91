# core/runner.mk: pipeline parser, validator, runner, provenance (included by Makefile.am).
