/*
 * pe_version.h - the version resource of a PE file (what Explorer's
 * "Details" tab and Defender's ProcessVersionInfo* columns show).
 *
 * pe_version_read() finds every RT_VERSION leaf (pe_resource.h), reads each
 * VS_VERSIONINFO blob (at most 64 KiB) and decodes:
 *   - VS_FIXEDFILEINFO: the binary file and product versions, flags, type;
 *   - every StringFileInfo -> StringTable -> String (keys and values,
 *     UTF-16LE decoded to UTF-8, see utf16.h);
 *   - VarFileInfo -> Translation (language, code page pairs).
 * Children may come in any order; keys are compared case-insensitively
 * (ASCII).  Every node is bounded by its parent, the blob and the file; odd
 * or hostile structure is recorded as anomaly bits (PE_ANOMALY_*) instead of
 * failing.  A String's value is read up to its NUL inside the node, whatever
 * wValueLength says: a value whose wValueLength is 0 is still read (pefile,
 * exiftool and YARA show it empty) and flagged.
 *
 * Then it makes the choice a Windows program makes (docs/binary-identity.md):
 * the language leaf the resource loader picks on an en-US system (name ID 1;
 * language 0x0000, 0x0409, 0x0009, else the first), and in it the
 * StringTable that \VarFileInfo\Translation[0] names, with fallbacks.
 * pe_version_lookup() reads the chosen table.
 */
#ifndef RMMHUNT_PE_VERSION_H
#define RMMHUNT_PE_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "binident/bytesource.h"
#include "base/parse_error.h"
#include "binident/pe_resource.h"

/* Oddities: the file says something a well-formed writer would not. */
#define PE_ANOMALY_STRING_VALUE_LENGTH_ZERO (1u << 0)      /* text present, wValueLength 0 */
#define PE_ANOMALY_STRING_VALUE_LENGTH_MISMATCH (1u << 1)  /* wValueLength is neither the
							       length nor the length + 1 */
#define PE_ANOMALY_UNTERMINATED (1u << 2)       /* a key or value without its NUL */
#define PE_ANOMALY_UNPAIRED_SURROGATE (1u << 3) /* replaced by U+FFFD */
#define PE_ANOMALY_DUPLICATE_KEY (1u << 4)      /* a String or table key seen twice */
#define PE_ANOMALY_TABLE_KEY (1u << 5)          /* StringTable key not 8 hex digits */
#define PE_ANOMALY_ROOT_KEY (1u << 6)           /* root key is not VS_VERSION_INFO */
#define PE_ANOMALY_FIXED_INFO (1u << 7)         /* VS_FIXEDFILEINFO missing or bad */
#define PE_ANOMALY_UNKNOWN_BLOCK (1u << 8)      /* a child that is none of the known */
#define PE_ANOMALY_NO_TRANSLATION (1u << 9)     /* no \VarFileInfo\Translation */
#define PE_ANOMALY_TRANSLATION_UNMATCHED (1u << 10) /* Translation[0] names no table */
#define PE_ANOMALY_NOT_ID_1 (1u << 11)          /* no RT_VERSION name 1 (Windows sees none) */
#define PE_ANOMALY_VALUE_LENGTH (1u << 12)      /* a non-String value overruns its node */
#define PE_ANOMALY_DUPLICATE_BLOCK (1u << 13)   /* 2nd StringFileInfo/VarFileInfo/Translation */
/* Damage: the file is cut short or its structure contradicts itself. */
#define PE_ANOMALY_NODE_LENGTH (1u << 16)       /* wLength 1..5: iteration stopped */
#define PE_ANOMALY_NODE_OVERRUN (1u << 17)      /* a child longer than its parent: clamped */
#define PE_ANOMALY_TRUNCATED (1u << 18)         /* blob cut by the end of file/section */
#define PE_ANOMALY_BLOB_SIZE (1u << 19)         /* data entry larger than 64 KiB: capped */
#define PE_ANOMALY_RESOURCE_OUT_OF_BOUNDS PE_RESOURCE_ANOMALY_OUT_OF_BOUNDS
#define PE_ANOMALY_RESOURCE_LOOP PE_RESOURCE_ANOMALY_LOOP
#define PE_ANOMALY_RESOURCE_LIMIT PE_RESOURCE_ANOMALY_LIMIT /* entries/leaves/memory capped */
#define PE_ANOMALY_RESOURCE_SHAPE PE_RESOURCE_ANOMALY_SHAPE /* leaf where a directory
							      belongs or the reverse */
#define PE_ANOMALY_DAMAGE                                                          \
	(PE_ANOMALY_NODE_LENGTH | PE_ANOMALY_NODE_OVERRUN | PE_ANOMALY_TRUNCATED |  \
	 PE_ANOMALY_BLOB_SIZE | PE_ANOMALY_RESOURCE_OUT_OF_BOUNDS |                 \
	 PE_ANOMALY_RESOURCE_LOOP | PE_ANOMALY_RESOURCE_LIMIT |                     \
	 PE_ANOMALY_RESOURCE_SHAPE)

#define PE_VERSION_MAX_BLOB 65536      /* wLength is 16 bits */
#define PE_VERSION_MAX_PARSED 64       /* leaves decoded (the chosen one always) */
#define PE_VERSION_MEMORY_BUDGET (8u << 20)

struct pe_version_string {
	const char *key;
	const char *value;          /* up to the NUL inside the node */
	uint16_t value_length;      /* wValueLength as written */
	uint32_t anomalies;
};

struct pe_string_table {
	const char *key;            /* as written, e.g. "040904b0" */
	bool key_is_hex;            /* 8 hex digits: language and code_page valid */
	uint16_t language;
	uint16_t code_page;
	bool in_first_block;        /* in the first StringFileInfo (Windows reads only it) */
	struct pe_version_string *strings;
	size_t string_count;
};

struct pe_translation {
	uint16_t language;
	uint16_t code_page;
};

struct pe_fixed_file_info {
	uint32_t struct_version;
	uint32_t file_version_ms, file_version_ls;
	uint32_t product_version_ms, product_version_ls;
	uint32_t file_flags_mask, file_flags;
	uint32_t file_os, file_type, file_subtype;
	uint32_t file_date_ms, file_date_ls;
};

/* One RT_VERSION leaf: a whole VS_VERSIONINFO. */
struct pe_version_resource {
	struct pe_resource_leaf leaf;
	bool parsed;                   /* false: over PE_VERSION_MAX_PARSED or budget */
	bool has_fixed;
	struct pe_fixed_file_info fixed;
	struct pe_string_table *tables;
	size_t table_count;
	struct pe_translation *translations;  /* the first Translation only */
	size_t translation_count;
	uint32_t anomalies;
};

enum pe_table_choice {
	PE_CHOICE_NONE,                /* no table at all */
	PE_CHOICE_TRANSLATION,         /* Translation[0] */
	PE_CHOICE_OTHER_TRANSLATION,   /* a later Translation entry */
	PE_CHOICE_TRANSLATION_LANGUAGE,/* Translation[0]'s language, other code page */
	PE_CHOICE_ENGLISH_DEFAULT,     /* 040904b0, 040904e4, 04090000 */
	PE_CHOICE_FIRST_TABLE,         /* the first table of the first StringFileInfo */
};

struct pe_version_info {
	struct arena arena;            /* owns everything below */
	bool pe32_plus;
	uint16_t machine;
	uint16_t subsystem;
	uint16_t characteristics;
	struct pe_version_resource *resources;  /* directory order */
	size_t resource_count;
	const struct pe_version_resource *chosen_resource;  /* NULL: none */
	const struct pe_string_table *chosen_table;         /* NULL: none */
	enum pe_table_choice choice;
	uint32_t anomalies;            /* every bit seen anywhere */
};

/*
 * Read the version information of the PE file in source.  A PE without
 * version resource gives an info with resource_count 0.  Returns 0,
 * -ENOEXEC (not a PE file), -EBADMSG (headers unusable), -ENOMEM or -errno;
 * error says why.  Free *out with pe_version_free().
 */
int pe_version_read(const struct byte_source *source, struct pe_version_info **out,
		    struct parse_error *error);
int pe_version_read_fd(int fd, struct pe_version_info **out, struct parse_error *error);
int pe_version_read_buffer(const void *data, size_t size, struct pe_version_info **out,
			   struct parse_error *error);

void pe_version_free(struct pe_version_info *info);

/* The value of key (case-insensitive, the first one) in the chosen table; NULL when absent. */
const char *pe_version_lookup(const struct pe_version_info *info, const char *key);

/* The value of key in table; NULL when absent. */
const char *pe_string_table_lookup(const struct pe_string_table *table, const char *key);

/* "1.2.3.4" from a VS_FIXEDFILEINFO pair; out has room for 24 bytes. */
void pe_version_format(uint32_t most, uint32_t least, char out[24]);

/* "translation", "first_table"... for a choice. */
const char *pe_table_choice_name(enum pe_table_choice choice);

/*
 * The name of the lowest anomaly bit set in *bits, which is cleared; NULL
 * when none is left.  Loop: while ((name = pe_anomaly_next(&bits))) ...
 */
const char *pe_anomaly_next(uint32_t *bits);

#endif
