/*
 * go_buildinfo.h - the build information the Go linker embeds in a program.
 *
 * Every Go binary since Go 1.13 carries a 32-byte header starting with the
 * magic "\xff Go buildinf:" (in ELF the section .go.buildinfo, else the
 * start of the data segment), then:
 *   byte 14: pointer size (4 or 8); byte 15: flags (bit 0 big-endian,
 *   bit 1 "inline strings", Go 1.18+).
 *   - inline format (Go 1.18+): after the header, two uvarint-length-
 *     prefixed strings, the Go version and the module info;
 *   - pointer format (Go 1.13-1.17): at byte 16 two pointers, each to a Go
 *     string header {data pointer, length} for the version and the module
 *     info, which must be read at those virtual addresses.
 * The module info is text ("path\t...", "mod\t...", "dep\t...",
 * "build\tkey=value") framed by 16-byte sentinels.  This module parses all
 * that from bytes; the container format (ELF here) supplies the header
 * bytes and a way to read virtual addresses.
 */
#ifndef RMMHUNT_GO_BUILDINFO_H
#define RMMHUNT_GO_BUILDINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/parse_error.h"

#define GO_BUILDINFO_MAGIC "\xff Go buildinf:"
#define GO_BUILDINFO_MAGIC_SIZE 14
#define GO_BUILDINFO_HEADER_SIZE 32
#define GO_BUILDINFO_MAX_STRING (1u << 20)   /* longer version/modinfo: refused */

struct go_setting {
	const char *key;      /* "vcs.revision", "-ldflags", "GOOS"... */
	const char *value;    /* unquoted */
};

struct go_buildinfo {
	struct arena arena;           /* owns everything below */
	const char *go_version;       /* "go1.19.8" */
	bool inline_format;           /* Go 1.18+ layout */
	unsigned pointer_size;
	const char *main_package;     /* "path" line: github.com/x/cmd/rport; "" if none */
	const char *module_path;      /* "mod" line; "" if none */
	const char *module_version;   /* "(devel)", "v1.2.3"; "" if none */
	const char *module_sum;       /* "h1:..."; "" if none */
	size_t dependency_count;      /* "dep" lines */
	struct go_setting *settings;  /* "build" lines, in order */
	size_t setting_count;
	const char *modinfo;          /* the module info text, sentinels removed */
};

/*
 * Reads size bytes at virtual address address into out.  Returns 0, or a
 * negative errno when the range is not in the file.
 */
typedef int (*go_memory_read)(void *context, uint64_t address, void *out, size_t size);

/*
 * Parse build info from data (the bytes from the magic on, size of them:
 * at least the 32-byte header; the inline format's strings must follow
 * within size).  read_memory is used by the pointer format only (may be
 * NULL, then that format fails with -ENODATA).  Returns 0, -ENOEXEC (no
 * magic), -EBADMSG (inconsistent), -ENOMEM, or what read_memory returned;
 * error says why.  Free *out with go_buildinfo_free().
 */
int go_buildinfo_parse(const unsigned char *data, size_t size, go_memory_read read_memory,
		       void *context, struct go_buildinfo **out, struct parse_error *error);

void go_buildinfo_free(struct go_buildinfo *info);

/* The value of a build setting ("vcs.revision"), or NULL. */
const char *go_buildinfo_setting(const struct go_buildinfo *info, const char *key);

#endif
