# qscale build configuration.
VERSION = 0.1.0

PREFIX ?= /usr/local
MANPREFIX ?= $(PREFIX)/share/man
DESTDIR ?=

ifeq ($(origin CC),default)
CC = cc
endif
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DQS_VERSION=\"$(VERSION)\" -Iinclude
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes
# CI and developers build with WERROR=1; distributions need not.
WERROR ?=
ifeq ($(WERROR),1)
CFLAGS += -Werror
endif

LDFLAGS += -Wl,--as-needed
