# t/dicom.mk: tests of the DICOM parser, read.dicom and read.rtstruct
# (included by Makefile.am).

EXTRA_DIST += t/t0700-dicom-util.h

check_PROGRAMS += t/t0710-suv-dro
TESTS += t/t0710-suv-dro
t_t0710_suv_dro_SOURCES = t/t0710-suv-dro.c t/t0700-dicom-util.h
t_t0710_suv_dro_LDADD = $(test_libs)

check_PROGRAMS += t/t0711-suv-vendor
TESTS += t/t0711-suv-vendor
t_t0711_suv_vendor_SOURCES = t/t0711-suv-vendor.c plugins/read/dicom/suv.c plugins/read/dicom/suv.h
t_t0711_suv_vendor_LDADD = $(test_libs) $(LIBM)

check_PROGRAMS += t/t0701-dicom-pydicom
TESTS += t/t0701-dicom-pydicom
t_t0701_dicom_pydicom_SOURCES = t/t0701-dicom-pydicom.c t/t0700-dicom-util.h
t_t0701_dicom_pydicom_LDADD = $(test_libs)

check_PROGRAMS += t/t0702-dicom-ts
TESTS += t/t0702-dicom-ts
t_t0702_dicom_ts_SOURCES = t/t0702-dicom-ts.c t/t0700-dicom-util.h
t_t0702_dicom_ts_LDADD = $(test_libs) $(LIBM)

check_PROGRAMS += t/t0703-dicom-ibsi-ct
TESTS += t/t0703-dicom-ibsi-ct
t_t0703_dicom_ibsi_ct_SOURCES = t/t0703-dicom-ibsi-ct.c t/t0700-dicom-util.h
t_t0703_dicom_ibsi_ct_LDADD = $(test_libs) $(LIBM)

check_PROGRAMS += t/t0720-dicom-series
TESTS += t/t0720-dicom-series
t_t0720_dicom_series_SOURCES = t/t0720-dicom-series.c t/t0700-dicom-util.h
t_t0720_dicom_series_LDADD = $(test_libs) $(LIBM)

check_PROGRAMS += t/t0712-suv-rules
TESTS += t/t0712-suv-rules
t_t0712_suv_rules_SOURCES = t/t0712-suv-rules.c plugins/read/dicom/suv.c plugins/read/dicom/suv.h
t_t0712_suv_rules_LDADD = $(test_libs) $(LIBM)

check_PROGRAMS += t/t0730-rtstruct
TESTS += t/t0730-rtstruct
t_t0730_rtstruct_SOURCES = t/t0730-rtstruct.c t/t0700-dicom-util.h
t_t0730_rtstruct_LDADD = $(test_libs) $(LIBM)

# The fuzz target run by libFuzzer for QIB_FUZZ_SECONDS (CI), else skipped.
TESTS += t/t0741-dicom-fuzz-run.sh
EXTRA_DIST += t/t0741-dicom-fuzz-run.sh

# The fuzz target's corpus, replayed through the fuzz function.
check_PROGRAMS += t/t0740-dicom-fuzz-corpus
TESTS += t/t0740-dicom-fuzz-corpus
t_t0740_dicom_fuzz_corpus_SOURCES = t/t0740-dicom-fuzz-corpus.c
t_t0740_dicom_fuzz_corpus_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/t
t_t0740_dicom_fuzz_corpus_LDADD = $(test_libs)
EXTRA_DIST += t/fuzz/dicom-fuzz.c t/fuzz/make-corpus.py \
	t/fuzz/corpus/bad-length.dcm t/fuzz/corpus/deflated.dcm \
	t/fuzz/corpus/encapsulated-rle.dcm t/fuzz/corpus/explicit-be.dcm \
	t/fuzz/corpus/explicit-le-undef.dcm t/fuzz/corpus/explicit-le.dcm \
	t/fuzz/corpus/implicit-le-undef.dcm t/fuzz/corpus/implicit-le.dcm \
	t/fuzz/corpus/nested.dcm t/fuzz/corpus/no-delimiter.dcm \
	t/fuzz/corpus/raw-dataset.dcm t/fuzz/corpus/raw-implicit.dcm \
	t/fuzz/corpus/truncated.dcm t/fuzz/corpus/un-sequence.dcm

check_PROGRAMS += t/t0731-rtstruct-synth
TESTS += t/t0731-rtstruct-synth
t_t0731_rtstruct_synth_SOURCES = t/t0731-rtstruct-synth.c t/t0700-dicom-util.h
t_t0731_rtstruct_synth_LDADD = $(test_libs) $(LIBM)

check_PROGRAMS += t/t0721-dicom-files
TESTS += t/t0721-dicom-files
t_t0721_dicom_files_SOURCES = t/t0721-dicom-files.c t/t0700-dicom-util.h
t_t0721_dicom_files_LDADD = $(test_libs) $(LIBM)

TESTS += t/t0722-dicom-list-pipeline.sh
EXTRA_DIST += t/t0722-dicom-list-pipeline.sh

TESTS += t/t0723-dicom-info.sh
EXTRA_DIST += t/t0723-dicom-info.sh

# A dynamic PET series written by pydicom at test time.
check_PROGRAMS += t/t0724-dicom-dynamic-pet
TESTS += t/t0724-dicom-dynamic-pet
t_t0724_dicom_dynamic_pet_SOURCES = t/t0724-dicom-dynamic-pet.c t/t0700-dicom-util.h
t_t0724_dicom_dynamic_pet_LDADD = $(test_libs) $(LIBM)
EXTRA_DIST += t/t0724-dynamic-pet.py
