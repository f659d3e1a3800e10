# lua-crit: build the crit.core C module in place (build/crit/core.so), so
# the checkout works without installing. Every variable can be overridden.

LUA        ?= lua5.4
LUA_INCDIR ?= /usr/include/lua5.4
PROTOC_C   ?= protoc-c
PROTO_SYS  ?= /usr/include
CC         ?= cc
CFLAGS     ?= -O2 -g -flto=auto
LDFLAGS    ?= $(CFLAGS)
LIBFLAG    ?= -shared
BUSTED     ?= busted
LDOC       ?= ldoc
# protobuf-c's header and library, when not on the compiler's own paths
# (LuaRocks passes what its external_dependencies found).
PROTOBUF_C_INCDIR ?=
PROTOBUF_C_LIBDIR ?=
# Where `make install` puts things (LuaRocks and debian/rules set them).
# An empty directory installs nothing there.
PREFIX      ?= /usr/local
DESTDIR     ?=
INST_LIBDIR ?= $(PREFIX)/lib/lua/5.4
INST_LUADIR ?= $(PREFIX)/share/lua/5.4
INST_BINDIR ?= $(PREFIX)/bin
INST_MANDIR ?= $(PREFIX)/share/man/man1
INST_BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INST_ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
LUA_SHEBANG ?= /usr/bin/env lua5.4
# The command is crit.lua; CRIT_ALIAS=crit also installs it as `crit`
# (and crit(1)), in front of CRIU's own crit: only when asked.
CRIT_ALIAS  ?=

VERSION := $(shell sed -n 's/.*_VERSION = "lua-crit \([^"]*\)".*/\1/p' lua/crit/init.lua)
# Where the release tarball of `make dist` will be downloaded from: the
# rockspec's source.url. Set it to the published location when releasing.
DIST     ?= $(BUILD)/dist
DIST_URL ?= file://$(abspath $(DIST))

WARN = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
       -Wpointer-arith -Wcast-qual -Wundef -Wwrite-strings -Wdeclaration-after-statement
# Only luaopen_crit_core is exported: hidden symbols are called directly,
# not through the PLT, and link-time optimisation inlines the wire helpers.
PB_INC     = $(if $(PROTOBUF_C_INCDIR),-I$(PROTOBUF_C_INCDIR))
PB_LIB     = $(if $(PROTOBUF_C_LIBDIR),-L$(PROTOBUF_C_LIBDIR)) -lprotobuf-c
# zlib and libzstd: container checkpoint archives (gzip, zstd).
ARCHIVE_INC = $(if $(ZLIB_INCDIR),-I$(ZLIB_INCDIR)) $(if $(ZSTD_INCDIR),-I$(ZSTD_INCDIR))
ARCHIVE_LIB = $(if $(ZLIB_LIBDIR),-L$(ZLIB_LIBDIR)) -lz $(if $(ZSTD_LIBDIR),-L$(ZSTD_LIBDIR)) -lzstd
GEN_CFLAGS = $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -I$(GEN) $(PB_INC)
# `make werror` adds -Werror and -Wconversion for our own sources (CI).
STRICT    ?=
ALL_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(WARN) $(STRICT) -fPIC -fvisibility=hidden -std=gnu99 -Isrc -I$(GEN) \
             -I$(LUA_INCDIR) $(PB_INC) $(ARCHIVE_INC)

BUILD    ?= build
GEN      = $(BUILD)/gen
PROTOS   = $(sort $(wildcard proto/*.proto))
PB_C     = $(patsubst proto/%.proto,$(GEN)/%.pb-c.c,$(PROTOS)) $(GEN)/google/protobuf/descriptor.pb-c.c
PB_O     = $(PB_C:.c=.o)
CORE_SRC = src/buf.c src/wire.c src/error.c src/fileio.c src/schema.c src/image.c src/atomic.c src/maps.c src/conv.c \
           src/json_write.c src/json_read.c src/text_write.c src/text_read.c \
           src/streamer.c src/archive.c
BIND_SRC = src/lcrit.c src/lerror.c src/msg.c src/ljson_write.c src/ljson_read.c src/lstreamer.c src/larchive.c
CORE_O   = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CORE_SRC)) $(BUILD)/obj/criu_opts.o
BIND_O   = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(BIND_SRC))
MODULE   = $(BUILD)/crit/core.so

# The Debian 12 packages the build, the tests and the CLI need (time, clang,
# its libFuzzer runtime and valgrind: the bad-input spec, fuzz, test-valgrind;
# python3: the restore scenarios; lua-check: make lint; `make criu` installs
# criu's own build deps; dpkg-dev, debhelper, lintian, lua-ldoc, groff-base
# and zsh: the .deb, the API reference, the man page and completion specs;
# criu: Debian's Python crit 3.17, the second opinion of crit_json_spec and
# bench; it cannot dump here, and the restore suite uses build/criu-4.2;
# zlib1g-dev and libzstd-dev: checkpoint archives; zstd: the archive specs).
# podman and runc restore a transformed archive in a spec; they go in with
# their recommended packages (catatonit, fuse-overlayfs, netavark...), as on
# the machines where that spec was tried.
DEBS = build-essential lua5.4 liblua5.4-dev libprotobuf-c-dev protobuf-c-compiler \
       zlib1g-dev libzstd-dev zstd \
       libprotobuf-dev protobuf-compiler lua-cjson lua-busted lua-argparse lua-filesystem luarocks \
       time clang libclang-rt-14-dev valgrind python3 lua-check \
       dpkg-dev debhelper fakeroot lintian lua-ldoc groff-base zsh git criu
DEBS_RECOMMENDS = podman runc

.PHONY: all test test-restore test-asan test-valgrind clean distclean install setup demo fuzz fuzz-run \
        bench criu lint man completion doc dist werror dumpfuzz
all: $(MODULE)

$(MODULE): $(BIND_O) $(CORE_O) $(PB_O)
	@mkdir -p $(dir $@)
	$(CC) $(LIBFLAG) $(LDFLAGS) -o $@ $^ $(PB_LIB) $(ARCHIVE_LIB)

# protoc-c runs once for the whole schema; the stamp stands for its outputs.
$(GEN)/.stamp: $(PROTOS)
	@mkdir -p $(GEN)
	$(PROTOC_C) --c_out=$(GEN) -Iproto -I$(PROTO_SYS) $(PROTOS)
	$(PROTOC_C) --c_out=$(GEN) -I$(PROTO_SYS) $(PROTO_SYS)/google/protobuf/descriptor.proto
	{ echo '/* Generated by the Makefile: every message of proto/. */'; \
	  for p in $(notdir $(PROTOS:.proto=)); do echo "#include \"$$p.pb-c.h\""; done; \
	} > $(GEN)/protos.h
	@touch $@
$(PB_C) $(GEN)/protos.h: $(GEN)/.stamp

$(GEN)/criu_opts.c: tools/gen-criu-opts.lua $(PROTOS) src/criu_opts.h
	@mkdir -p $(GEN)
	$(LUA) tools/gen-criu-opts.lua $(PROTOS) > $@.tmp && mv $@.tmp $@

$(GEN)/%.pb-c.o: $(GEN)/%.pb-c.c $(GEN)/.stamp
	$(CC) $(GEN_CFLAGS) -c -o $@ $<

$(BUILD)/obj/criu_opts.o: $(GEN)/criu_opts.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc -c -o $@ $<

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) $(GEN)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The suites run under the reaper (tools/reaper.c): a child subreaper that
# reaps the trees criu dumps and restores at once, and kills what is left.
REAPER = $(BUILD)/reaper
$(REAPER): tools/reaper.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -std=gnu99 -o $@ $<

test: $(MODULE) $(REAPER)
	CRIT_BUILD=$(BUILD) $(REAPER) $(BUSTED) --lua=$(LUA) --cpath='./$(BUILD)/?.so'

# The restore suite alone (spec/restore/: real criu dumps and restores, as
# root; it skips, saying why, without root or criu >= 4.2). `make criu` first.
test-restore: $(MODULE) $(REAPER)
	CRIT_BUILD=$(BUILD) $(REAPER) $(BUSTED) --lua=$(LUA) --cpath='./$(BUILD)/?.so' spec/restore

# criu 4.2 and 4.1.1 built from ../shared/criu into build/criu-VERSION, for
# the restore suite; reused once built, kept by `make clean`.
SHARED        ?= ../shared
CRIU_VERSIONS ?= 4.2 4.1.1
criu:
	tools/build-criu.sh $(SHARED) $(BUILD) $(CRIU_VERSIONS)

# The dump fuzzer (tools/dumpfuzz.lua): DUMPFUZZ_DUMPS copies of the fixture
# dumps, one field of one image mutated in each, every command that reads a
# directory run on it; findings are appended to build/dumpfuzz-found.lua
# (move them to spec/fixtures/dumpfuzz-cases.lua once fixed).
DUMPFUZZ_DUMPS ?= 100
DUMPFUZZ_SEED  ?= $(shell date +%s)
dumpfuzz: $(MODULE)
	$(LUA) tools/dumpfuzz.lua --seed $(DUMPFUZZ_SEED) --dumps $(DUMPFUZZ_DUMPS) \
	  --keep $(BUILD)/dumpfuzz-found.lua $(sort $(wildcard spec/fixtures/corpus/*/))

# The module built apart with every warning an error, -Wconversion included
# (the generated protobuf-c code is left out: it is not ours).
werror:
	$(MAKE) BUILD=build/werror STRICT='-Werror -Wconversion' build/werror/crit/core.so

# The checked runs: the suite (or SPECS=spec/x_spec.lua ...) with every lua5.4
# process checked, busted and each `./crit.lua` or `lua5.4` a spec starts,
# and nothing else: build/*/lua/bin/lua5.4 (tools/wrap-lua.sh) is first on PATH.
# A report lands in build/*/reports/: all are printed at the end, and a
# finding among them fails the run, even when the process that made it was
# a subprocess whose test did not look. (A finding says so: ASan's and
# LeakSanitizer's "ERROR:", UBSan's "runtime error:", a runtime's fatal
# error; LeakSanitizer's tracer alone, in a process a spec killed while it
# checked for leaks at exit, writes "Unable to get registers" and no more.)
# CRIT_SANITIZED=1 tells the specs (smaller inputs, no RSS bounds, no
# restore suite); CRIT_BUILD tells crit.lua which module to load.
SPECS ?=
REPORTS_FAIL = status=$$?; for f in $(1)/*; do if [ -s "$$f" ]; then \
	  echo "== $$f"; cat "$$f"; if grep -qE '$(2)' "$$f"; then status=1; fi; fi; done; exit $$status

# The suite against a module built with AddressSanitizer and
# UndefinedBehaviorSanitizer (leaks included). Their runtimes are preloaded
# into lua5.4 only: tools/preload-once.c takes LD_PRELOAD out of its
# environment, so its children, sh, tar, python3, cc..., run without them.
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
            -fno-omit-frame-pointer
SAN_REPORTS = $(CURDIR)/build/asan/reports
build/asan/preload-once.so: tools/preload-once.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -std=gnu99 -shared -fPIC -o $@ $<
test-asan: build/asan/preload-once.so
	$(MAKE) BUILD=build/asan CFLAGS='$(SAN_FLAGS)' LDFLAGS='$(SAN_FLAGS)' build/asan/crit/core.so
	tools/wrap-lua.sh build/asan/lua $(LUA) preload "$$($(CC) -print-file-name=libasan.so)" \
	  "$$($(CC) -print-file-name=libubsan.so)" $(CURDIR)/build/asan/preload-once.so
	rm -rf $(SAN_REPORTS) && mkdir -p $(SAN_REPORTS)
	PATH="$(CURDIR)/build/asan/lua/bin:$$PATH" CRIT_BUILD=build/asan CRIT_SANITIZED=1 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$(SAN_REPORTS)/asan \
	UBSAN_OPTIONS=print_stacktrace=1:abort_on_error=1:log_path=$(SAN_REPORTS)/ubsan \
	$(BUSTED) --lua=$(LUA) --cpath='./build/asan/?.so' --exclude-tags=restore $(SPECS); \
	$(call REPORTS_FAIL,$(SAN_REPORTS),ERROR: |runtime error: |fatal error|CHECK failed)

# The suite under valgrind's memcheck, the module built as usual. Slow: a
# lua5.4 takes 1.5 s to start under valgrind (0.02 s without) and most CLI
# specs start one per test, so the whole suite takes hours and CI leaves it
# out; SPECS=... checks a part. No suppressions: lua5.4 and libc gave
# memcheck nothing to report.
VG_REPORTS = $(CURDIR)/build/valgrind/reports
VG_FLAGS   = --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
             --errors-for-leak-kinds=definite --log-file=$(VG_REPORTS)/memcheck.%p
test-valgrind: $(MODULE)
	tools/wrap-lua.sh build/valgrind/lua $(LUA) valgrind $(VG_FLAGS)
	rm -rf $(VG_REPORTS) && mkdir -p $(VG_REPORTS)
	PATH="$(CURDIR)/build/valgrind/lua/bin:$$PATH" CRIT_BUILD=$(BUILD) CRIT_SANITIZED=1 \
	$(BUSTED) --lua=$(LUA) --cpath='./$(BUILD)/?.so' --exclude-tags=restore $(SPECS); \
	$(call REPORTS_FAIL,$(VG_REPORTS),.)

# libFuzzer harnesses (fuzz/fuzz_NAME.c), built with clang, ASan and UBSan
# over the whole core. `make -j2 fuzz-run FUZZ_TIME=60` runs each for that
# many seconds (two at a time with -j2), seeded from the fixtures (and,
# for fuzz_image, large images) and its regression inputs
# (fuzz/regressions/NAME/); what they find goes to
# build/fuzz/crashes/, their logs to build/fuzz/NAME.log. Any finding fails.
FUZZ_CC    ?= clang
FUZZ_FLAGS ?= -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer
FUZZ_TIME  ?= 60
FUZZ_ARGS  ?=
FUZZ_SRC    = $(CORE_SRC) $(GEN)/criu_opts.c $(PB_C)
# The harnesses of the core link neither the binding nor liblua; those
# that go through Lua (fuzz_decode) are named here.
FUZZ_WITH_LUA = decode
FUZZ_NAMES  = $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZERS     = $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
# Seeds: image harnesses take a type byte and an image body (fuzz/seeds.lua),
# the JSON reader crit's JSON, compact and pretty (spec/fixtures/golden),
# the text reader the fixtures as text format, raw and nice, and the text
# forms (conv) the same JSON: base64, addresses, hex, devices.
FUZZ_SEEDS_decode     = build/fuzz/seeds-images
FUZZ_SEEDS_json_write = build/fuzz/seeds-images
FUZZ_SEEDS_json_read  = build/fuzz/seeds-json
FUZZ_SEEDS_text_read  = build/fuzz/seeds-text
FUZZ_SEEDS_conv       = build/fuzz/seeds-json
FUZZ_SEEDS_archive    = build/fuzz/seeds-archive
FUZZ_SEEDS_image      = build/fuzz/seeds-images build/fuzz/seeds-large
# -max_len per harness: fuzz_image also takes the large seeds (a 128 KiB
# image takes about 0.1 s), and spends its time on the fast inputs.
FUZZ_MAX_LEN       ?= 65536
FUZZ_MAX_LEN_image  = 262144
FUZZ_ARGS_image     = -entropic_scale_per_exec_time=1

build/fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_SRC) $(BIND_SRC) $(wildcard src/*.h) $(GEN)/.stamp
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -std=gnu99 -Isrc -I$(GEN) -o $@ $< $(FUZZ_SRC) \
		$(if $(filter $*,$(FUZZ_WITH_LUA)),-I$(LUA_INCDIR) $(BIND_SRC) -l:liblua5.4.a) \
		$(PB_LIB) $(ARCHIVE_LIB) -lm -ldl

fuzz: $(FUZZERS)

build/fuzz/seeds-images: $(MODULE) fuzz/seeds.lua
	@rm -rf $@ && mkdir -p $@
	$(LUA) fuzz/seeds.lua $@ $$(find spec/fixtures/corpus -type f)
# Large images, up to fuzz_image's -max_len: a few thousand entries from
# each generator of $(SHARED)/perf/gen (pagemap, mm, files, fdinfo, core),
# and the corpus's images over 64 KiB. Without $(SHARED), none.
FUZZ_LARGE = pagemap:8000 mm:4000 files:2000 fdinfo:8000 core:1
build/fuzz/seeds-large: $(MODULE) fuzz/seeds.lua
	@rm -rf $@ $@.tmp && mkdir -p $@ $@.tmp
	@if [ -d $(SHARED)/perf/gen ]; then for g in $(FUZZ_LARGE); do \
		python3 $(SHARED)/perf/gen/gen_$${g%%:*}.py $@.tmp/$${g%%:*}.json $${g#*:} && \
		./crit.lua encode -i $@.tmp/$${g%%:*}.json -o $@.tmp/$${g%%:*}.img || exit 1; \
	done; else echo "seeds-large: no $(SHARED)/perf/gen: no synthetic images"; fi
	$(LUA) fuzz/seeds.lua --max $(FUZZ_MAX_LEN_image) $@ $$(find $@.tmp -name '*.img') \
		$$(find $(SHARED)/corpus -name '*.img' -size +64k 2>/dev/null)
	@rm -rf $@.tmp
build/fuzz/seeds-json: $(wildcard spec/fixtures/golden/*/*.json)
	@rm -rf $@ && mkdir -p $@
	for f in $^; do cp "$$f" $@/$$(echo "$$f" | tr / _); done

# Archives: the example dump as tar, gzip and zstd, and the podman
# archives of $(SHARED)/corpus/archives where they are.
build/fuzz/seeds-archive:
	@rm -rf $@ && mkdir -p $@
	tar -cf $@/dump.tar -C examples checkpoint
	gzip -c $@/dump.tar > $@/dump.tar.gz
	-zstd -q $@/dump.tar -o $@/dump.tar.zst
	-cp $(SHARED)/corpus/archives/bb-*.tar.gz $@/

build/fuzz/seeds-text: $(MODULE)
	@rm -rf $@ && mkdir -p $@
	for f in $$(find spec/fixtures/corpus -name '*.img' ! -name 'pages-*'); do \
		n=$$(echo "$$f" | tr / _); \
		./crit.lua decode --format txt -i "$$f" -o $@/$$n.txt 2>/dev/null || rm -f $@/$$n.txt; \
		./crit.lua decode --format nice -i "$$f" -o $@/$$n.nice 2>/dev/null || rm -f $@/$$n.nice; \
	done

fuzz-run: $(FUZZ_NAMES:%=fuzz-run-%)
fuzz-run-%: build/fuzz/fuzz_% build/fuzz/seeds-images build/fuzz/seeds-large build/fuzz/seeds-json \
            build/fuzz/seeds-text build/fuzz/seeds-archive
	@mkdir -p build/fuzz/corpus-$* build/fuzz/crashes fuzz/regressions/$*
	@echo "fuzz_$*: $(FUZZ_TIME) s, log in build/fuzz/$*.log"
	@build/fuzz/fuzz_$* -max_total_time=$(FUZZ_TIME) -max_len=$(or $(FUZZ_MAX_LEN_$*),$(FUZZ_MAX_LEN)) \
		-rss_limit_mb=2048 -timeout=30 -artifact_prefix=build/fuzz/crashes/$*- -print_final_stats=1 \
		$(FUZZ_ARGS_$*) $(FUZZ_ARGS) \
		build/fuzz/corpus-$* $(FUZZ_SEEDS_$*) fuzz/regressions/$* > build/fuzz/$*.log 2>&1; \
	status=$$?; \
	{ grep -E '^#[0-9]+[[:space:]].*cov:' build/fuzz/$*.log | tail -n 1; \
	  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' build/fuzz/$*.log; } \
		| sed 's/^/fuzz_$*: /'; \
	if [ $$status -ne 0 ]; then tail -n 40 build/fuzz/$*.log; echo "fuzz_$*: FAILED ($$status)"; fi; \
	exit $$status

# luacheck over every Lua file (settings in .luacheckrc): no warning passes.
LUACHECK ?= luacheck
lint:
	$(LUACHECK) --quiet lua crit.lua spec examples tools fuzz

# crit.lua against Python crit on large synthetic images and real dumps (see
# tools/bench.lua); the README's performance table is rewritten from the run.
PERF_GEN ?= ../shared/perf/gen
CORPUS   ?= ../shared/corpus
bench: $(MODULE) $(REAPER)
	$(REAPER) $(LUA) tools/bench.lua --perf $(PERF_GEN) --corpus $(CORPUS) --readme README.md

# Install the Debian packages (as root).
setup:
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $(DEBS)
	apt-get install -y -qq $(DEBS_RECOMMENDS)

# The main job on the bundled example checkpoint.
demo: $(MODULE)
	./crit.lua x examples/checkpoint ps
	./crit.lua show examples/checkpoint/pstree.img
	./crit.lua decode -i examples/checkpoint/core-30956.img | head -c 300; echo

# The man page and the shell completions, made from crit.lua's argparse
# parsers: the text of --help.
RUN_LUA  = LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./$(BUILD)/?.so;;' $(LUA)
MANPAGE  = $(BUILD)/man/crit.lua.1
BASHCOMP = $(BUILD)/completion/crit.lua
ZSHCOMP  = $(BUILD)/completion/_crit.lua
LUA_SRC  = $(shell find lua -name '*.lua')
man: $(MANPAGE)
completion: $(BASHCOMP) $(ZSHCOMP)
$(MANPAGE): tools/gen-man.lua $(LUA_SRC) $(MODULE)
	@mkdir -p $(dir $@)
	$(RUN_LUA) tools/gen-man.lua > $@.tmp && mv $@.tmp $@
$(BASHCOMP) $(ZSHCOMP): $(LUA_SRC) $(MODULE)
	@mkdir -p $(dir $@)
	$(RUN_LUA) -e 'io.write(require("crit.cli").parser():get_bash_complete())' > $(BASHCOMP).tmp
	$(RUN_LUA) -e 'io.write(require("crit.cli").parser():get_zsh_complete())' > $(ZSHCOMP).tmp
	mv $(BASHCOMP).tmp $(BASHCOMP) && mv $(ZSHCOMP).tmp $(ZSHCOMP)

# The API reference of the Lua module (LDoc, config.ld) in build/doc.
doc:
	$(LDOC) -d $(BUILD)/doc . 2>&1 | { grep -v 'definition cannot be parsed' || true; }
	@test -f $(BUILD)/doc/index.html

# A release: build/dist/lua-crit-VERSION.tar.gz (the files git tracks) and
# lua-crit-VERSION-1.rockspec, made from the scm-1 one, pointing at it.
DISTNAME = lua-crit-$(VERSION)
dist:
	@test -n "$(VERSION)"
	@mkdir -p $(DIST)
	rm -rf $(DIST)/$(DISTNAME) && mkdir -p $(DIST)/$(DISTNAME)
	git ls-files -z | xargs -0 cp --parents -t $(DIST)/$(DISTNAME)
	tar -C $(DIST) --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
		-czf $(DIST)/$(DISTNAME).tar.gz $(DISTNAME)
	rm -rf $(DIST)/$(DISTNAME)
	md5=$$(md5sum < $(DIST)/$(DISTNAME).tar.gz | cut -d' ' -f1) && \
	sed -e '1,2c\-- lua-crit $(VERSION), built from the release tarball of `make dist`.' \
	    -e 's|^version = .*|version = "$(VERSION)-1"|' \
	    -e "s|^  url = .*|  url = \"$(DIST_URL)/$(DISTNAME).tar.gz\",\n  md5 = \"$$md5\",\n  dir = \"$(DISTNAME)\",|" \
	    -e '/^  branch = /d' \
	    lua-crit-scm-1.rockspec > $(DIST)/$(DISTNAME)-1.rockspec
	@echo "$(DIST)/$(DISTNAME).tar.gz and $(DIST)/$(DISTNAME)-1.rockspec"

# With DESTDIR, PREFIX and the INST_* directories above. The man page and
# completions are built here if they were not (LuaRocks leaves them out).
install: $(MODULE) $(if $(INST_MANDIR),$(MANPAGE)) \
	 $(if $(INST_BASHCOMPDIR)$(INST_ZSHCOMPDIR),$(BASHCOMP) $(ZSHCOMP))
	install -D -m 0644 $(MODULE) $(DESTDIR)$(INST_LIBDIR)/crit/core.so
	cd lua && find crit -name '*.lua' -exec install -D -m 0644 {} $(DESTDIR)$(INST_LUADIR)/{} \;
	[ -z "$(INST_BINDIR)" ] || { install -d $(DESTDIR)$(INST_BINDIR) && \
		sed '1s|^#!.*|#!$(LUA_SHEBANG)|' crit.lua > $(DESTDIR)$(INST_BINDIR)/crit.lua && \
		chmod 0755 $(DESTDIR)$(INST_BINDIR)/crit.lua; }
	[ -z "$(INST_MANDIR)" ] || install -D -m 0644 $(MANPAGE) $(DESTDIR)$(INST_MANDIR)/crit.lua.1
	[ -z "$(INST_BASHCOMPDIR)" ] || install -D -m 0644 $(BASHCOMP) $(DESTDIR)$(INST_BASHCOMPDIR)/crit.lua
	[ -z "$(INST_ZSHCOMPDIR)" ] || install -D -m 0644 $(ZSHCOMP) $(DESTDIR)$(INST_ZSHCOMPDIR)/_crit.lua
	[ -z "$(CRIT_ALIAS)" ] || [ -z "$(INST_BINDIR)" ] || \
		ln -sf crit.lua $(DESTDIR)$(INST_BINDIR)/$(CRIT_ALIAS)
	[ -z "$(CRIT_ALIAS)" ] || [ -z "$(INST_MANDIR)" ] || \
		ln -sf crit.lua.1 $(DESTDIR)$(INST_MANDIR)/$(CRIT_ALIAS).1

# clean keeps the criu builds (minutes to redo); distclean removes them too.
clean:
	[ ! -d $(BUILD) ] || find $(BUILD) -mindepth 1 -maxdepth 1 ! -name 'criu-*' -exec rm -rf {} +
distclean:
	rm -rf $(BUILD)

# lua-crit's tar reader against libarchive (libarchive-dev), for the
# comparison in README: build/archive-bench own|libarchive ARCHIVE [PAGES].
$(BUILD)/archive-bench: tools/archive-bench.c src/archive.c src/error.c src/fileio.c src/buf.c src/archive.h
	$(CC) $(CFLAGS) -std=gnu99 -o $@ tools/archive-bench.c src/archive.c src/error.c src/fileio.c src/buf.c -larchive -lz -lzstd
