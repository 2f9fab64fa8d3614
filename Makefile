# qscale: a Q-learning autoscaler for Kubernetes, as small C tools.
include config.mk

BUILD = build
BINDIR = $(BUILD)/bin
CMDS = $(sort $(patsubst cmd/%.c,%,$(wildcard cmd/qs-*.c)) \
	$(patsubst cmd/%/,%,$(dir $(wildcard cmd/qs-*/main.c))))
BINS = $(addprefix $(BINDIR)/,$(CMDS))
SCRIPTS = $(wildcard scripts/qs-*)
# The scripts as built and installed: with the version of file VERSION.
SCRIPT_BINS = $(addprefix $(BINDIR)/,$(notdir $(SCRIPTS)))
HDR = $(wildcard include/qs/*.h)
MAN1 = $(wildcard man/*.1)
MAN7 = $(wildcard man/*.7)
MANS = $(MAN1) $(MAN7)
TESTS = $(wildcard tests/*.bats)

# Four layers, a library each: the learning core (files, records, the
# table, the learning rule), the I/O clients (Prometheus, Kubernetes), the
# simulator, and the web server of qs-metrics.  Each library names the
# system libraries it needs.
LAYERS = core io sim web
core_SRC = $(wildcard common/core/*.c)
io_SRC = $(wildcard common/io/*.c)
sim_SRC = $(wildcard common/sim/*.c)
web_SRC = $(wildcard common/web/*.c)
core_PKGS = jansson
io_PKGS = libcurl jansson
sim_PKGS = libmicrohttpd jansson
web_PKGS = libmicrohttpd
core_LDLIBS = $(shell pkg-config --libs $(core_PKGS)) -lcsv -lm
io_LDLIBS = $(shell pkg-config --libs $(io_PKGS))
sim_LDLIBS = $(shell pkg-config --libs $(sim_PKGS)) -lm
web_LDLIBS = $(shell pkg-config --libs $(web_PKGS))

# What each binary links, stated once, the layer above first.
qs-init-table_LIBS = core
qs-decide_LIBS = core
qs-reward_LIBS = core
qs-update_LIBS = core
qs-observe_LIBS = io core
qs-scale_LIBS = io core
qs-sim_LIBS = sim core
# qs-metrics serves qs-run's metrics file: a web server, no client.
qs-metrics_LIBS = web core

libname = $(BUILD)/libqs-$(1).a
objs = $(patsubst common/%.c,$(BUILD)/common/%.o,$($(1)_SRC))
cmdsrc = $(or $(wildcard cmd/$(1).c),$(wildcard cmd/$(1)/*.c))
cmdobjs = $(patsubst cmd/%.c,$(BUILD)/cmd/%.o,$(call cmdsrc,$(1)))

all: $(BINS) $(SCRIPT_BINS)

define layer_rules
$(BUILD)/common/$(1)/%.o: common/$(1)/%.c $$(HDR) $$(wildcard common/$(1)/*.h)
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) $$(CFLAGS) $$(shell pkg-config --cflags $$($(1)_PKGS)) -c -o $$@ $$<

$(call libname,$(1)): $(call objs,$(1))
	rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call layer_rules,$(l))))

define cmd_rules
$(BINDIR)/$(1): $(call cmdobjs,$(1)) $(foreach l,$($(1)_LIBS),$(call libname,$(l)))
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $$(CFLAGS) -o $$@ $(call cmdobjs,$(1)) \
	    $(foreach l,$($(1)_LIBS),$(call libname,$(l))) \
	    $(foreach l,$($(1)_LIBS),$$($(l)_LDLIBS))
endef
$(foreach c,$(CMDS),$(eval $(call cmd_rules,$(c))))

$(BUILD)/cmd/%.o: cmd/%.c $(HDR) $(wildcard cmd/*/*.h) VERSION
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(SCRIPT_BINS): $(BINDIR)/%: scripts/% VERSION
	@mkdir -p $(@D)
	sed 's/@VERSION@/$(VERSION)/g' $< > $@.tmp && chmod 0755 $@.tmp && mv -f $@.tmp $@

# Install the Debian packages the project needs, when they are missing.
# Only this target installs anything: the README's commands and CI call it
# (make deps check), the test targets below do not.
deps:
	@scripts/install-deps

check: all
	QS_BIN=$(CURDIR)/$(BINDIR) scripts/run-tests $(TESTS)

# The same suites against binaries built with AddressSanitizer and UBSan,
# with config.mk's standard and warnings: the sanitizer flags are appended.
SAN_CFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_LDFLAGS = -fsanitize=address,undefined
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan \
	    EXTRA_CFLAGS="$(SAN_CFLAGS)" EXTRA_LDFLAGS="$(SAN_LDFLAGS)" all
	QS_BIN=$(CURDIR)/build-asan/bin ASAN_OPTIONS=detect_leaks=1 \
	    scripts/run-tests $(TESTS)

# The same suites with each binary run under valgrind: any memory error or
# definite leak makes it exit 99, which fails the test.  The crash test
# kills fewer times, valgrind being slow.
# By its full path: some tests run the tools with a PATH of their own.
VALGRIND = $(or $(shell command -v valgrind),valgrind) -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite --vgdb=no
valgrind: all
	@rm -rf $(BUILD)/valgrind-bin && mkdir -p $(BUILD)/valgrind-bin
	@for b in $(CMDS); do \
		printf '#!/bin/sh\nexec %s %s "$$@"\n' '$(VALGRIND)' \
		    '$(CURDIR)/$(BINDIR)/'$$b > $(BUILD)/valgrind-bin/$$b; \
		chmod +x $(BUILD)/valgrind-bin/$$b; \
	done
	@cp $(SCRIPT_BINS) $(BUILD)/valgrind-bin/
	QS_BIN=$(CURDIR)/$(BUILD)/valgrind-bin QS_CRASH_RUNS=20 \
	    scripts/run-tests $(TESTS)

# libFuzzer harnesses (fuzz/fuzz_*.c) over libqs built with clang's
# sanitizers; each runs FUZZ_TIME seconds from its seed corpus in
# fuzz/corpus/NAME, keeping what it finds in build-fuzz/corpus/NAME.
FUZZ_TIME = 10
FUZZ_CC = clang
# config.mk's standard and warnings, then the fuzzing flags.
FUZZ_CFLAGS = $(STD_CFLAGS) -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZERS = $(patsubst fuzz/%.c,build-fuzz/%,$(wildcard fuzz/fuzz_*.c))

build-fuzz/%: fuzz/%.c $(core_SRC) $(io_SRC) $(HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(shell pkg-config --cflags $(io_PKGS)) \
	    -fsanitize=fuzzer -o $@ $< $(core_SRC) $(io_SRC) $(io_LDLIBS) $(core_LDLIBS)

fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do \
		n=$${f#build-fuzz/fuzz_}; mkdir -p build-fuzz/corpus/$$n; \
		echo "fuzz: $$n for $(FUZZ_TIME) s"; \
		seeds=; [ -d fuzz/corpus/$$n ] && seeds=fuzz/corpus/$$n; \
		if ! $$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
		    -artifact_prefix=build-fuzz/$$n- \
		    build-fuzz/corpus/$$n $$seeds > build-fuzz/$$n.log 2>&1; then \
			tail -n 40 build-fuzz/$$n.log; exit 1; \
		fi; \
		grep -E '^(Done|stat::number_of_executed_units)' build-fuzz/$$n.log; \
	done

bench: all
	QS_BIN=$(CURDIR)/$(BINDIR) bench/run

demo: all
	QS_BIN=$(CURDIR)/$(BINDIR) scripts/demo

lint:
	mandoc -Tlint -Wwarning $(MANS)
	shellcheck scripts/* .ci/run tests/*.bash tests/*.bats

# install(1) with explicit modes, so that the result does not depend on the
# installer's umask and a running binary is replaced, not overwritten.
install: all
	install -d -m 0755 $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANPREFIX)/man1
	install -m 0755 $(BINS) $(SCRIPT_BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(MAN1) $(DESTDIR)$(MANPREFIX)/man1/
ifneq ($(MAN7),)
	install -d -m 0755 $(DESTDIR)$(MANPREFIX)/man7
	install -m 0644 $(MAN7) $(DESTDIR)$(MANPREFIX)/man7/
endif

# Remove exactly the files install writes, and no directory.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(CMDS) $(notdir $(SCRIPTS))) \
	    $(addprefix $(DESTDIR)$(MANPREFIX)/man1/,$(notdir $(MAN1))) \
	    $(addprefix $(DESTDIR)$(MANPREFIX)/man7/,$(notdir $(MAN7)))

clean:
	rm -rf build build-asan build-fuzz

# make deps check, even with -j: nothing is built before deps installed
# the compilers and libraries.
ifneq ($(filter deps,$(MAKECMDGOALS)),)
$(BINS) $(FUZZERS) $(foreach l,$(LAYERS),$(call objs,$(l)) $(call libname,$(l))) \
    $(foreach c,$(CMDS),$(call cmdobjs,$(c))): | deps
endif

# Keep the objects of the binaries: they are not intermediate files.
.SECONDARY:

.PHONY: all deps check asan valgrind fuzz bench demo lint install uninstall clean
