# qscale build configuration.
# The one place the version is written.
VERSION := $(shell cat VERSION)

PREFIX ?= /usr/local
MANPREFIX ?= $(PREFIX)/share/man
DESTDIR ?=

ifeq ($(origin CC),default)
CC = cc
endif
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DQS_VERSION=\"$(VERSION)\" -Iinclude
CFLAGS ?= -O2 -g
# The standard and the warnings every build uses, make fuzz's included.
STD_CFLAGS = -std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes
CFLAGS += $(STD_CFLAGS)
# Flags appended to the above, not replacing them: the sanitizer builds
# (make asan) set these, so that they compile what make all compiles.
EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=
CFLAGS += $(EXTRA_CFLAGS)
# CI and developers build with WERROR=1; distributions need not.
WERROR ?=
ifeq ($(WERROR),1)
CFLAGS += -Werror
endif

LDFLAGS += -Wl,--as-needed $(EXTRA_LDFLAGS)
