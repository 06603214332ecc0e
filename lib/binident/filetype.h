/*
 * filetype.h - what kind of executable a file is, from its first bytes.
 *
 * The sensor needs to know which reader applies: PE (PE32 or PE32+, also
 * what binfmt_misc hands to Wine), ELF, or a script (the kernel runs its
 * "#!" interpreter).  Detection reads at most 256 bytes plus the PE
 * signature; it trusts content, never the file name.
 */
#ifndef RMMHUNT_FILETYPE_H
#define RMMHUNT_FILETYPE_H

#include <stdbool.h>

#include "binident/bytesource.h"

enum file_type {
	FILE_TYPE_OTHER,
	FILE_TYPE_PE32,
	FILE_TYPE_PE32_PLUS,
	FILE_TYPE_ELF,
	FILE_TYPE_SCRIPT,
};

/* The kernel reads at most this much of a "#!" line (BINPRM_BUF_SIZE). */
#define FILETYPE_SHEBANG_MAX 256

struct file_type_info {
	enum file_type type;
	bool mz_without_pe;      /* OTHER: an MS-DOS "MZ" file without a PE header */
	unsigned elf_class;      /* ELF: 32 or 64 */
	bool elf_big_endian;
	char interpreter[FILETYPE_SHEBANG_MAX];  /* SCRIPT: as the kernel parses it */
	char interpreter_argument[FILETYPE_SHEBANG_MAX];  /* SCRIPT: "" when none */
};

/*
 * Classify the file in source.  Returns 0 (an unreadable short file is
 * FILE_TYPE_OTHER) or a negative errno from reading.
 */
int filetype_detect(const struct byte_source *source, struct file_type_info *info);

/* "PE32", "PE32+", "ELF", "script", "other". */
const char *file_type_name(enum file_type type);

#endif
