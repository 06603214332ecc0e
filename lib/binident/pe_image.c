/*
 * pe_image.c - reading a PE file's headers and section table (see
 * pe_image.h).
 *
 * Three reads: the 64-byte MS-DOS header, the PE signature with the COFF and
 * optional headers (at most 264 bytes), the section table (40 bytes a
 * section, at most 65535 sections: bounded, and bounded by the file).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "binident/pe_image.h"

#define DOS_HEADER_SIZE 64
#define DOS_LFANEW_OFFSET 0x3c
#define COFF_HEADER_SIZE 20
#define SIGNATURE_AND_COFF (4 + COFF_HEADER_SIZE)
#define OPTIONAL_HEADER_READ 240  /* PE32+ with 16 data directories */
#define SECTION_HEADER_SIZE 40
#define PE32_MAGIC 0x10b
#define PE32_PLUS_MAGIC 0x20b
#define RESOURCE_DIRECTORY_INDEX 2
#define LOADER_RAW_ALIGNMENT 512u

int pe_image_probe(const struct byte_source *source, uint32_t *header_offset,
		   bool *pe32_plus)
{
	unsigned char dos[DOS_HEADER_SIZE];
	unsigned char signature[SIGNATURE_AND_COFF + 2];
	uint32_t lfanew;
	int result;

	result = byte_source_read(source, 0, dos, sizeof(dos));
	if (result == -ERANGE || (result == 0 && (dos[0] != 'M' || dos[1] != 'Z')))
		return -ENOEXEC;
	if (result < 0)
		return result;
	lfanew = load_le32(dos + DOS_LFANEW_OFFSET);
	result = byte_source_read(source, lfanew, signature, sizeof(signature));
	if (result == -ERANGE)
		return -ENOEXEC;
	if (result < 0)
		return result;
	if (memcmp(signature, "PE\0\0", 4) != 0)
		return -ENOEXEC;
	uint16_t magic = load_le16(signature + SIGNATURE_AND_COFF);
	if (magic != PE32_MAGIC && magic != PE32_PLUS_MAGIC)
		return -ENOEXEC;
	if (header_offset)
		*header_offset = lfanew;
	if (pe32_plus)
		*pe32_plus = magic == PE32_PLUS_MAGIC;
	return 0;
}

/* Take the fields we use from the optional header (optional_size bytes). */
static void read_optional_header(struct pe_image *image, const unsigned char *optional,
				 uint32_t optional_size)
{
	uint32_t directories_at = image->pe32_plus ? 112 : 96;
	uint32_t count_at = directories_at - 4;
	uint32_t resource_at = directories_at + 8 * RESOURCE_DIRECTORY_INDEX;

	if (optional_size >= 72) {
		image->file_alignment = load_le32(optional + 36);
		image->size_of_headers = load_le32(optional + 60);
		image->subsystem = load_le16(optional + 68);
	}
	if (optional_size < resource_at + 8)
		return;
	if (load_le32(optional + count_at) <= RESOURCE_DIRECTORY_INDEX)
		return;
	image->resource_rva = load_le32(optional + resource_at);
	image->resource_size = load_le32(optional + resource_at + 4);
}

static int read_sections(struct pe_image *image, uint64_t table_offset,
			 struct parse_error *error)
{
	size_t table_size = (size_t)image->section_count * SECTION_HEADER_SIZE;
	unsigned char *table;
	int result;

	if (image->section_count == 0)
		return 0;
	if (byte_source_available(&image->source, table_offset) < table_size)
		return parse_error_set(error, -EBADMSG,
				       "section table (%u sections at 0x%llx) runs past the end of the file",
				       image->section_count, (unsigned long long)table_offset);
	table = malloc(table_size);
	image->sections = calloc(image->section_count, sizeof(*image->sections));
	if (!table || !image->sections) {
		free(table);
		return parse_error_set(error, -ENOMEM, "out of memory for the section table");
	}
	result = byte_source_read(&image->source, table_offset, table, table_size);
	if (result < 0) {
		free(table);
		return parse_error_set(error, result, "cannot read the section table");
	}
	for (uint16_t i = 0; i < image->section_count; i++) {
		const unsigned char *header = table + (size_t)i * SECTION_HEADER_SIZE;
		struct pe_section *section = &image->sections[i];

		memcpy(section->name, header, 8);
		section->name[8] = '\0';
		section->virtual_size = load_le32(header + 8);
		section->virtual_address = load_le32(header + 12);
		section->raw_size = load_le32(header + 16);
		section->raw_offset = load_le32(header + 20);
		if (image->file_alignment >= LOADER_RAW_ALIGNMENT)
			section->raw_offset &= ~(LOADER_RAW_ALIGNMENT - 1);
	}
	free(table);
	return 0;
}

int pe_image_open(struct pe_image *image, const struct byte_source *source,
		  struct parse_error *error)
{
	unsigned char headers[SIGNATURE_AND_COFF + OPTIONAL_HEADER_READ];
	uint64_t available;
	int result;

	memset(image, 0, sizeof(*image));
	image->source = *source;
	result = pe_image_probe(source, &image->header_offset, &image->pe32_plus);
	if (result == -ENOEXEC)
		return parse_error_set(error, result, "not a PE file (no MZ/PE signature)");
	if (result < 0)
		return parse_error_set(error, result, "cannot read the PE headers");
	available = byte_source_available(source, image->header_offset);
	size_t header_bytes = available < sizeof(headers) ? (size_t)available : sizeof(headers);
	memset(headers, 0, sizeof(headers));
	result = byte_source_read(source, image->header_offset, headers, header_bytes);
	if (result < 0)
		return parse_error_set(error, result, "cannot read the PE headers");
	image->machine = load_le16(headers + 4);
	image->section_count = load_le16(headers + 6);
	image->characteristics = load_le16(headers + 22);
	uint32_t optional_size = load_le16(headers + 20);
	uint64_t optional_offset = (uint64_t)image->header_offset + SIGNATURE_AND_COFF;
	if (optional_offset + optional_size > source->size)
		return parse_error_set(error, -EBADMSG,
				       "optional header (%u bytes at 0x%llx) runs past the end of the file",
				       optional_size, (unsigned long long)optional_offset);
	read_optional_header(image, headers + SIGNATURE_AND_COFF,
			     optional_size < OPTIONAL_HEADER_READ ? optional_size : OPTIONAL_HEADER_READ);
	result = read_sections(image, optional_offset + optional_size, error);
	if (result < 0)
		pe_image_close(image);
	return result;
}

void pe_image_close(struct pe_image *image)
{
	free(image->sections);
	image->sections = NULL;
	image->section_count = 0;
}

/* Bytes of the section's virtual range, as the loader maps it. */
static uint32_t section_span(const struct pe_section *section)
{
	return section->virtual_size ? section->virtual_size : section->raw_size;
}

int pe_image_map(const struct pe_image *image, uint32_t rva, uint64_t *offset,
		 uint32_t *in_file)
{
	for (uint16_t i = 0; i < image->section_count; i++) {
		const struct pe_section *section = &image->sections[i];
		uint32_t delta = rva - section->virtual_address;

		if (rva < section->virtual_address || delta >= section_span(section))
			continue;
		uint32_t raw = section->raw_size < section_span(section) ?
			section->raw_size : section_span(section);
		*offset = (uint64_t)section->raw_offset + delta;
		*in_file = delta < raw ? raw - delta : 0;
		return 0;
	}
	if (rva < image->size_of_headers) {
		*offset = rva;
		*in_file = image->size_of_headers - rva;
		return 0;
	}
	return -ERANGE;
}

const char *pe_machine_name(uint16_t machine)
{
	switch (machine) {
	case 0x014c:
		return "i386";
	case 0x8664:
		return "x86-64";
	case 0x01c0:
		return "ARM";
	case 0x01c4:
		return "ARMv7";
	case 0xaa64:
		return "ARM64";
	case 0x0200:
		return "IA-64";
	default:
		return NULL;
	}
}
