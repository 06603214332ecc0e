/*
 * elf_facts.h - what an ELF executable says about its origin.
 *
 * Read with libelf, touching only the headers, the notes and the Go build
 * info, each capped in size (never the whole file):
 *   - the GNU build-id note (NT_GNU_BUILD_ID), as lower-case hex;
 *   - the package metadata note (".note.package", owner "FDO", type
 *     0xcafe1a7e): a JSON object {"type":"deb","name":...,"version":...,
 *     "architecture":...} written by distributions that stamp binaries
 *     (systemd's packaging-metadata spec);
 *   - Go build info (go_buildinfo.h), from the .go.buildinfo section or, in
 *     a binary without section headers, the start of its data segment;
 *   - the program interpreter (PT_INTERP) when there is one.
 * Notes come from SHT_NOTE sections, or PT_NOTE segments when the file has
 * no section headers.
 */
#ifndef RMMHUNT_ELF_FACTS_H
#define RMMHUNT_ELF_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "binident/go_buildinfo.h"
#include "base/parse_error.h"

#define ELF_FACTS_MAX_NOTES_BYTES (64u << 10)   /* larger note areas are skipped */
#define ELF_FACTS_MAX_PACKAGE_NOTE (16u << 10)
#define ELF_FACTS_MAX_GO_SECTION (2u << 20)
#define ELF_FACTS_GO_SEARCH_WINDOW (64u << 10)
#define ELF_FACTS_MAX_NAMES (1u << 20)          /* larger .shstrtab: names not read */
#define ELF_FACTS_NOTE_PACKAGE_TYPE 0xcafe1a7eu  /* NT_FDO_PACKAGING_METADATA */

struct elf_facts {
	struct arena arena;            /* owns the strings below */
	unsigned elf_class;            /* 32 or 64 */
	bool big_endian;
	uint16_t machine;              /* EM_* */
	uint16_t type;                 /* ET_EXEC, ET_DYN... */
	const char *interpreter;       /* PT_INTERP; NULL when static */
	const char *build_id;          /* hex; NULL when none */
	const char *package_note;      /* JSON text of .note.package; NULL when none */
	struct go_buildinfo *go;       /* NULL: not a Go program (or unreadable) */
	struct parse_error go_error;   /* why Go build info present could not be read */
};

/*
 * Read the facts of the ELF file open on fd (not closed, offset untouched)
 * or in a buffer.  Returns 0 (missing notes or build info are not errors),
 * -ENOEXEC when it is not ELF, -EBADMSG when libelf cannot read its
 * headers, -ENOMEM; error says why.  Free *out with elf_facts_free().
 */
int elf_facts_read_fd(int fd, struct elf_facts **out, struct parse_error *error);
int elf_facts_read_buffer(const void *data, size_t size, struct elf_facts **out,
			  struct parse_error *error);

void elf_facts_free(struct elf_facts *facts);

/* "x86-64", "AArch64"... or NULL. */
const char *elf_machine_name(uint16_t machine);

#endif
