# labsup: build, test, bench.  `make start` and `make test` first install
# what is missing (scripts/deps.sh), so a fresh Debian machine needs nothing
# else.  `make SANITIZE=1 ...` builds with ASan+UBSan into build-san/.

PKGS     := libpq libcurl libbsd-overlay inih jansson zlib
CC       ?= cc
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD    ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD    ?= build
SANFLAGS :=
endif

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	    -Wno-missing-field-initializers -Wno-format-truncation
OPT      ?= -O2 -g
CFLAGS   ?= $(OPT)
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# [grafana] dir when labsup finds no grafana/ beside its binary (lib/config.c)
GRAFANA_DIR ?= $(CURDIR)/grafana
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DLABSUP_GRAFANA_DIR='"$(GRAFANA_DIR)"' $(WARNINGS) $(CFLAGS) $(SANFLAGS) $(PKG_CFLAGS) -MMD -MP
# built-in scenarios when none are beside the binary (cli/scenario_parse.c)
SCENARIOS_DIR ?= $(CURDIR)/scenarios
ALL_CFLAGS += -DLABSUP_SCENARIOS_DIR='"$(SCENARIOS_DIR)"'
LDLIBS   = $(PKG_LIBS) -lrt -lm -lpthread
CRIT_LIBS = $(shell pkg-config --libs criterion 2>/dev/null)

SRCS     := $(wildcard shm/*.c lib/*.c docker/*.c backend/*.c workers/*.c supervisor/*.c cli/*.c)
LIB_SRCS := $(filter-out cli/main.c,$(SRCS))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:%.c=$(BUILD)/%)

LABSUP   := $(BUILD)/labsup

.PHONY: all deps start stop test test-sanitize unit integration bench fuzz format clean images faults check-layers \
	install uninstall deb deb-test

all: $(LABSUP) labsup

# ./labsup is a link to the normal build so the README's commands work.
labsup: $(BUILD)/labsup
	@if [ "$(BUILD)" = build ]; then ln -sf build/labsup labsup; fi

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# image.c embeds the entrypoint script with .incbin
$(BUILD)/docker/image.o: docker/images/postgres-entrypoint.sh
# report.c embeds uPlot and the page's script the same way (issue 19)
$(BUILD)/workers/report.o: workers/report.js third_party/uplot/uPlot.iife.min.js \
	third_party/uplot/uPlot.min.css

$(BUILD)/liblabsup.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LABSUP): $(BUILD)/cli/main.o $(BUILD)/liblabsup.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit_tests: $(UNIT_OBJS) $(BUILD)/liblabsup.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(CRIT_LIBS) $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/liblabsup.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# test helpers the integration tests run (tests/tools/*.c, one file each)
$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(BUILD)/liblabsup.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@scripts/deps.sh

start: deps
	@$(MAKE) --no-print-directory all
	@if [ "$(BACKEND)" = docker ]; then ./labsup image build $(if $(CONFIG),-c $(CONFIG)); fi
	./labsup start $(if $(CONFIG),-c $(CONFIG)) $(if $(BACKEND),--backend $(BACKEND))

stop:
	./labsup stop $(if $(CONFIG),-c $(CONFIG))

# Everything a change must pass: unit tests, then integration tests against
# real servers that the run starts itself.
test: deps check-layers
	@$(MAKE) --no-print-directory WERROR=1 all $(BUILD)/unit_tests
	@$(MAKE) --no-print-directory unit integration

# The sanitizer build's tests: every unit test, then the quick lab tests.
test-sanitize: deps
	@$(MAKE) --no-print-directory SANITIZE=1 WERROR=1 $(BUILD)/labsup $(BUILD)/unit_tests $(TOOL_BINS) $(PROBE_SO) $(BUILD)/labsup_asan_preload.so
	$(BUILD)/unit_tests --jobs 2
	LABSUP=$(abspath $(BUILD)/labsup) tests/run-integration.sh $(or $(T),--sanitize)

# No #include reaches a folder above its own (docs/ARCHITECTURE.md).
check-layers:
	@scripts/check-layers.sh

unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests --jobs 2

integration: $(LABSUP) $(TOOL_BINS) $(BENCH_BINS)
	LABSUP=$(abspath $(LABSUP)) tests/run-integration.sh $(T)

faults: $(LABSUP) $(TOOL_BINS)
	LABSUP=$(abspath $(LABSUP)) tests/run-integration.sh --faults $(T)

bench: deps all $(BENCH_BINS)
	@BUILD=$(BUILD) LABSUP=$(abspath $(LABSUP)) bench/run.sh $(BENCH)

images: all
	./labsup image build

# The tree is hand-formatted KNF, which .clang-format only approximates:
# format the lines changed since HEAD, not whole files.
format:
	git diff -U0 --no-color HEAD -- '*.c' '*.h' | clang-format-diff -p1 -i

clean:
	rm -rf build build-san build-deb labsup

# ---- install (issue 17) ------------------------------------------------------
# `make install [PREFIX=/usr/local] [DESTDIR=]`; `make uninstall` removes
# exactly what it installs.  An installed labsup finds its grafana/ as
# <bindir>/../share/labsup/grafana (lib/config.c), so it needs no source tree.
PREFIX   ?= /usr/local
BINDIR   := $(PREFIX)/bin
DATADIR  := $(PREFIX)/share/labsup
MANDIR   := $(PREFIX)/share/man
DOCDIR   := $(PREFIX)/share/doc/labsup
COMPDIR  := $(PREFIX)/share/bash-completion/completions
GRAFANA_FILES := $(sort $(wildcard grafana/provisioning/*/* grafana/dashboards/*.json))
MAN_PAGES     := $(wildcard docs/labsup.1 docs/labsup.conf.5 docs/labsup-scenario.5)
# the built-in scenarios (issue 14), found as <prefix>/share/labsup/scenarios
SCENARIO_FILES := $(sort $(wildcard scenarios/*.scn))
D := $(DESTDIR)

install: $(LABSUP)
	install -d $(D)$(BINDIR) $(D)$(DOCDIR) $(D)$(COMPDIR) \
	    $(sort $(dir $(GRAFANA_FILES:grafana/%=$(D)$(DATADIR)/grafana/%)))
	install -m 0755 $(LABSUP) $(D)$(BINDIR)/labsup
	@for f in $(GRAFANA_FILES); do \
		echo "install -m 0644 $$f $(D)$(DATADIR)/$$f"; \
		install -m 0644 "$$f" "$(D)$(DATADIR)/$$f" || exit 1; \
	done
	@for m in $(MAN_PAGES); do \
		s=$${m##*.}; \
		echo "install -m 0644 $$m $(D)$(MANDIR)/man$$s/"; \
		install -d "$(D)$(MANDIR)/man$$s" && \
		install -m 0644 "$$m" "$(D)$(MANDIR)/man$$s/" || exit 1; \
	done
	install -d $(D)$(DATADIR)/scenarios
	@for f in $(SCENARIO_FILES); do \
		echo "install -m 0644 $$f $(D)$(DATADIR)/$$f"; \
		install -m 0644 "$$f" "$(D)$(DATADIR)/$$f" || exit 1; \
	done
	install -m 0644 labsup.conf.example $(D)$(DOCDIR)/labsup.conf.example
	install -m 0644 contrib/bash-completion/labsup $(D)$(COMPDIR)/labsup
	# report (issue 19): uPlot is inside the binary; its licence goes beside
	install -m 0644 third_party/uplot/LICENSE $(D)$(DOCDIR)/uplot.LICENSE

# Removes the files install writes and the directories only labsup uses
# (share/labsup, share/doc/labsup), never a shared one (bin, man1, ...).
uninstall:
	rm -f $(D)$(BINDIR)/labsup $(D)$(COMPDIR)/labsup \
	    $(D)$(MANDIR)/man1/labsup.1 $(D)$(MANDIR)/man5/labsup.conf.5 \
	    $(D)$(DOCDIR)/labsup.conf.example $(D)$(DOCDIR)/uplot.LICENSE \
	    $(GRAFANA_FILES:%=$(D)$(DATADIR)/%)
	rm -f $(D)$(MANDIR)/man5/labsup-scenario.5 \
	    $(SCENARIO_FILES:%=$(D)$(DATADIR)/%)
	@if [ -d $(D)$(DATADIR) ]; then find $(D)$(DATADIR) -depth -type d -empty -delete; fi
	@if [ -d $(D)$(DOCDIR) ]; then rmdir --ignore-fail-on-non-empty $(D)$(DOCDIR); fi

# ---- Debian package (issue 17) ---------------------------------------------
# build-deb/labsup_<LABSUP_VERSION>_<arch>.deb, with dpkg-deb only: built
# in build-deb/ with PREFIX=/usr, so it holds no path of this tree.
# `apt-get install ./build-deb/labsup_*.deb` installs it and its Depends.
# `make deb-test` installs it with apt-get in a fresh Debian 12 container
# and runs a lab there (tests/integration/09_deb.sh, ~30 s; `make test` runs
# it too when a Docker engine and scripts/container-test.sh's image are here).
DEB_BUILD := build-deb

deb:
	rm -rf $(DEB_BUILD)/root
	@$(MAKE) --no-print-directory BUILD=$(DEB_BUILD) PREFIX=/usr \
	    GRAFANA_DIR=/usr/share/labsup/grafana \
	    DESTDIR=$(CURDIR)/$(DEB_BUILD)/root install >/dev/null
	packaging/deb/build.sh $(DEB_BUILD)/root $(DEB_BUILD)/labsup $(DEB_BUILD)

deb-test:
	tests/run-integration.sh 09_deb

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- fuzz (issue 8) --------------------------------------------------------
# libFuzzer targets in tests/fuzz, built with clang against the library
# sources into build-fuzz/.  `make fuzz` runs each for FUZZ_SECONDS on its
# seeds (tests/fuzz/corpus/<target>, read only) plus a work corpus in
# build-fuzz/corpus/<target>; a finding is left as build-fuzz/crash-*.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := config lineproto docker_json
FUZZ_TARGETS += duration
FUZZ_FLAGS    = -std=c11 -D_GNU_SOURCE -g -O1 $(WARNINGS) -Wno-unknown-warning-option \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	$(PKG_CFLAGS)
FUZZ_DEPS_config      := lib/config.c
FUZZ_DEPS_lineproto   := workers/lineproto.c shm/record.c
FUZZ_DEPS_docker_json :=
FUZZ_DEPS_duration    := lib/duration.c

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard lib/*.[ch] workers/*.[ch] docker/*.[ch] shm/*.[ch])
	@mkdir -p build-fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_DEPS_$*) $(PKG_LIBS)

fuzz: $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p build-fuzz/corpus/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
		    -artifact_prefix=build-fuzz/$$t- -print_final_stats=1 \
		    build-fuzz/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# ---- in-server probe (issue 18) --------------------------------------------
# probe/ is a PostgreSQL extension built with PGXS (postgresql-server-dev-15)
# into $(BUILD)/probe; $(BUILD)/labsup_probe.so sits beside the binary,
# where labsup looks for it (lib/probe.c), as it does in <libdir>/labsup when
# installed.  Without the server headers it is left out with a warning and
# [sampler] source = auto samples over SQL.  PROBE_CFLAGS adds compiler flags.
PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
PROBE_SO  := $(BUILD)/labsup_probe.so
# SANITIZE=1: the probe with ASan and UBSan (reports, no abort: a server
# process must not die of one).  A server loads it only with libasan
# preloaded: labsup does that for its tests only (LABSUP_TEST_PG_ENV,
# docs/CONTRIBUTING.md), and otherwise starts servers without the probe.
PROBE_ASAN     := -fsanitize=address,undefined -fno-omit-frame-pointer
PROBE_SANFLAGS := $(if $(filter 1,$(SANITIZE)),$(PROBE_ASAN))
# ... and what the servers preload after libasan so that it can start in
# them at all (probe/asan_preload.c says why)
ASAN_PRELOAD   := $(BUILD)/labsup_asan_preload.so

$(ASAN_PRELOAD): probe/asan_preload.c
	@mkdir -p $(BUILD)
	$(CC) -std=c11 $(WARNINGS) -O2 -shared -fPIC -o $@ $<
LIBDIR    := $(PREFIX)/lib/labsup

all: $(PROBE_SO)

$(PROBE_SO): probe/labsup_probe.c probe/Makefile shm/probe.h shm/ring.h shm/record.h
	@mkdir -p $(BUILD)/probe
	@if [ -x $(PG_CONFIG) ] && [ -d "$$($(PG_CONFIG) --includedir-server)" ]; then \
		$(MAKE) --no-print-directory -C $(BUILD)/probe \
		    -f $(CURDIR)/probe/Makefile VPATH=$(CURDIR)/probe \
		    PG_CONFIG=$(PG_CONFIG) with_llvm=no \
		    PROBE_CFLAGS="$(if $(filter 1,$(WERROR)),-Werror) $(PROBE_SANFLAGS)"; \
	else \
		echo "labsup: no PostgreSQL server headers ($(PG_CONFIG)): the probe is not built (install postgresql-server-dev-15)" >&2; \
	fi
	@# a line of its own: `make -n` runs the line above (it names $$(MAKE)),
	@# and would copy a library it did not build
	@if [ -f $(BUILD)/probe/labsup_probe.so ]; then cp $(BUILD)/probe/labsup_probe.so $@; fi

install: install-probe
install-probe: $(PROBE_SO)
	@if [ -f $(PROBE_SO) ]; then \
		echo "install -m 0644 $(PROBE_SO) $(D)$(LIBDIR)/"; \
		install -d $(D)$(LIBDIR) && install -m 0644 $(PROBE_SO) $(D)$(LIBDIR)/; \
	fi
uninstall: uninstall-probe
uninstall-probe:
	rm -f $(D)$(LIBDIR)/labsup_probe.so
	@if [ -d $(D)$(LIBDIR) ]; then rmdir --ignore-fail-on-non-empty $(D)$(LIBDIR); fi
.PHONY: install-probe uninstall-probe
# the benchmarks' sampler_harness (in $(BUILD)/bench) looks beside itself
# too: bench/capture.sh runs its sampler with source = probe
bench: $(BUILD)/bench/labsup_probe.so
$(BUILD)/bench/labsup_probe.so: $(PROBE_SO)
	@mkdir -p $(BUILD)/bench
	@if [ -f $(PROBE_SO) ]; then cp $(PROBE_SO) $@; fi
