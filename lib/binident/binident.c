/*
 * binident.c - gathering a binary's identity from its type's reader (see
 * binident.h).
 */
#include <errno.h>
#include <string.h>

#include "binident/binident.h"

const struct version_field_definition version_fields[VERSION_FIELD_COUNT] = {
	[VERSION_FIELD_COMPANY_NAME] = {"CompanyName", DPE_PROCESS_VERSION_INFO_COMPANY_NAME,
					DPE_INITIATING_PROCESS_VERSION_INFO_COMPANY_NAME},
	[VERSION_FIELD_PRODUCT_NAME] = {"ProductName", DPE_PROCESS_VERSION_INFO_PRODUCT_NAME,
					DPE_INITIATING_PROCESS_VERSION_INFO_PRODUCT_NAME},
	[VERSION_FIELD_PRODUCT_VERSION] = {"ProductVersion",
					   DPE_PROCESS_VERSION_INFO_PRODUCT_VERSION,
					   DPE_INITIATING_PROCESS_VERSION_INFO_PRODUCT_VERSION},
	[VERSION_FIELD_INTERNAL_FILE_NAME] = {"InternalName",
					      DPE_PROCESS_VERSION_INFO_INTERNAL_FILE_NAME,
					      DPE_INITIATING_PROCESS_VERSION_INFO_INTERNAL_FILE_NAME},
	[VERSION_FIELD_ORIGINAL_FILE_NAME] = {"OriginalFilename",
					      DPE_PROCESS_VERSION_INFO_ORIGINAL_FILE_NAME,
					      DPE_INITIATING_PROCESS_VERSION_INFO_ORIGINAL_FILE_NAME},
	[VERSION_FIELD_FILE_DESCRIPTION] = {"FileDescription",
					    DPE_PROCESS_VERSION_INFO_FILE_DESCRIPTION,
					    DPE_INITIATING_PROCESS_VERSION_INFO_FILE_DESCRIPTION},
};

static void find_owners(const struct binident_options *options,
			struct binary_identity *identity)
{
	int found;

	if (!options || !options->dpkg || !options->path || options->path[0] != '/')
		return;
	found = dpkg_index_lookup(options->dpkg, options->path, identity->owners,
				  BINIDENT_MAX_OWNERS);
	if (found > 0)
		identity->owner_count = (size_t)found < BINIDENT_MAX_OWNERS ?
			(size_t)found : BINIDENT_MAX_OWNERS;
}

/* Run the reader for the file's type: from an fd when fd >= 0, else from source. */
static void read_type(const struct byte_source *source, int fd,
		      struct binary_identity *identity)
{
	switch (identity->file_type.type) {
	case FILE_TYPE_PE32:
	case FILE_TYPE_PE32_PLUS:
		pe_version_read(source, &identity->pe, &identity->error);
		break;
	case FILE_TYPE_ELF:
		if (fd >= 0)
			elf_facts_read_fd(fd, &identity->elf, &identity->error);
		else
			elf_facts_read_buffer(source->data, (size_t)source->size, &identity->elf,
					      &identity->error);
		break;
	case FILE_TYPE_SCRIPT:
	case FILE_TYPE_OTHER:
		break;
	}
}

static int inspect_source(const struct byte_source *source, int fd,
			  struct binary_identity *identity)
{
	int result = filetype_detect(source, &identity->file_type);

	if (result < 0)
		return result;
	identity->size = source->size;
	read_type(source, fd, identity);
	return 0;
}

int binident_inspect_fd(int fd, const struct binident_options *options,
			struct binary_identity *identity)
{
	struct byte_source source;
	int result;

	memset(identity, 0, sizeof(*identity));
	result = byte_source_fd(&source, fd);
	if (result < 0)
		return result;
	result = inspect_source(&source, fd, identity);
	byte_source_close(&source);
	if (result < 0)
		return result;
	find_owners(options, identity);
	return 0;
}

int binident_inspect_buffer(const void *data, size_t size, struct binary_identity *identity)
{
	struct byte_source source;

	memset(identity, 0, sizeof(*identity));
	byte_source_buffer(&source, data, size);
	return inspect_source(&source, -1, identity);
}

void binident_release(struct binary_identity *identity)
{
	pe_version_free(identity->pe);
	elf_facts_free(identity->elf);
	identity->pe = NULL;
	identity->elf = NULL;
}

const char *binident_version_field(const struct binary_identity *identity,
				   enum version_field field)
{
	const char *value;

	if (!identity->pe || (unsigned)field >= VERSION_FIELD_COUNT)
		return "";
	value = pe_version_lookup(identity->pe, version_fields[field].resource_key);
	return value ? value : "";
}

bool binident_damaged(const struct binary_identity *identity)
{
	return identity->error.code != 0 ||
	       (identity->pe && (identity->pe->anomalies & PE_ANOMALY_DAMAGE));
}

const char *binident_damage_reason(const struct binary_identity *identity)
{
	uint32_t damage;

	if (identity->error.code != 0)
		return identity->error.message;
	damage = identity->pe ? identity->pe->anomalies & PE_ANOMALY_DAMAGE : 0;
	if (damage & PE_ANOMALY_TRUNCATED)
		return "version resource cut short by the end of the file or section";
	if (damage & PE_ANOMALY_RESOURCE_LOOP)
		return "resource directory loops (a directory is reached twice)";
	if (damage & PE_ANOMALY_RESOURCE_OUT_OF_BOUNDS)
		return "resource directory points outside the file";
	if (damage & PE_ANOMALY_RESOURCE_LIMIT)
		return "resource tree too large: entries over the limits were skipped";
	if (damage & (PE_ANOMALY_NODE_LENGTH | PE_ANOMALY_NODE_OVERRUN))
		return "version resource structure is inconsistent (bad wLength)";
	if (damage)
		return "resource tree is malformed";
	return "";
}
