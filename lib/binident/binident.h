/*
 * binident.h - everything the sensor derives from an executable file.
 *
 * One call gathers, from an open fd, without reading the whole file:
 *   - the file type (filetype.h);
 *   - for PE files the version resource (pe_version.h), whose chosen table
 *     fills the six ProcessVersionInfo* columns;
 *   - for ELF files the build-id, package note and Go build info
 *     (elf_facts.h); the ProcessVersionInfo* columns stay empty for ELF:
 *     Windows fields are never invented;
 *   - for any file the Debian package that owns its path (dpkg_index.h).
 * Hashes are not part of it: the caller runs filehash_fd() on the same fd.
 * binident_json.h turns the result into AdditionalFields and into the full
 * view that `rmmhunt inspect --json` prints.
 *
 * The agent, for an exec'd file:
 *     fd = open("/proc/PID/exe") (or the .exe Wine runs);
 *     binident_inspect_fd(fd, &(struct binident_options){dpkg, path}, &id);
 *     column = binident_version_field(&id, VERSION_FIELD_COMPANY_NAME) ...;
 *     json_object_update(additional, binident_additional_fields(&id));
 *     binident_release(&id);
 */
#ifndef RMMHUNT_BINIDENT_H
#define RMMHUNT_BINIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "binident/dpkg_index.h"
#include "binident/elf_facts.h"
#include "binident/filetype.h"
#include "base/parse_error.h"
#include "binident/pe_version.h"
#include "model/schema.h"

enum version_field {
	VERSION_FIELD_COMPANY_NAME,
	VERSION_FIELD_PRODUCT_NAME,
	VERSION_FIELD_PRODUCT_VERSION,
	VERSION_FIELD_INTERNAL_FILE_NAME,
	VERSION_FIELD_ORIGINAL_FILE_NAME,
	VERSION_FIELD_FILE_DESCRIPTION,
	VERSION_FIELD_COUNT,
};

struct version_field_definition {
	const char *resource_key;          /* the StringTable key: "InternalName" */
	enum dpe_column process_column;    /* ProcessVersionInfoInternalFileName */
	enum dpe_column initiating_column; /* InitiatingProcessVersionInfo... */
};

extern const struct version_field_definition version_fields[VERSION_FIELD_COUNT];

#define BINIDENT_MAX_OWNERS 4

struct binident_options {
	struct dpkg_index *dpkg;   /* NULL: no package lookup */
	const char *path;          /* the file's absolute path on this host, for
				      the package lookup; NULL: none */
};

struct binary_identity {
	struct file_type_info file_type;
	uint64_t size;
	struct pe_version_info *pe;    /* PE files whose headers could be read */
	struct elf_facts *elf;         /* ELF files libelf could read */
	struct dpkg_owner owners[BINIDENT_MAX_OWNERS];
	size_t owner_count;            /* owners[] filled, at most BINIDENT_MAX_OWNERS */
	struct parse_error error;      /* code != 0: the type's reader failed */
};

/*
 * Fill identity from the file open on fd (its offset is left alone).
 * Returns 0 when the file could be examined (identity->error may still say
 * that its PE or ELF structure is unreadable), or a negative errno when fd
 * is not a readable regular file.  Release with binident_release() in both
 * cases.
 */
int binident_inspect_fd(int fd, const struct binident_options *options,
			struct binary_identity *identity);

/* The same for a memory buffer (no package lookup). */
int binident_inspect_buffer(const void *data, size_t size, struct binary_identity *identity);

void binident_release(struct binary_identity *identity);

/*
 * The value for one ProcessVersionInfo* column: the chosen version table's
 * string, "" when there is none (ELF, scripts, PE without version info).
 * Never NULL.
 */
const char *binident_version_field(const struct binary_identity *identity,
				   enum version_field field);

/* Whether the reader failed or found the file damaged (truncated, looping...). */
bool binident_damaged(const struct binary_identity *identity);

/* One sentence on the damage ("version resource truncated..."), "" when none. */
const char *binident_damage_reason(const struct binary_identity *identity);

#endif
