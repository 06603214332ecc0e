/*
 * pe_image.h - the headers of a PE file: what kind it is and where its RVAs
 * live in the file.
 *
 * A PE file starts with an MS-DOS header whose e_lfanew points at "PE\0\0",
 * the COFF file header and the optional header (PE32: magic 0x10b, PE32+:
 * 0x20b; they differ in size, so the data directories sit at different
 * offsets).  Data directory 2 gives the resource tree's RVA; the section
 * table maps RVAs to file offsets.  This module reads exactly those headers,
 * bounded by the file's size, and maps RVAs the way the Windows loader does
 * (raw offsets rounded down to 512 when FileAlignment is at least 512, bytes
 * past a section's raw data are not in the file).
 */
#ifndef RMMHUNT_PE_IMAGE_H
#define RMMHUNT_PE_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "binident/bytesource.h"
#include "base/parse_error.h"

struct pe_section {
	char name[9];
	uint32_t virtual_address;
	uint32_t virtual_size;
	uint32_t raw_offset;   /* already rounded as the loader rounds it */
	uint32_t raw_size;
};

struct pe_image {
	struct byte_source source;
	uint32_t header_offset;    /* e_lfanew: where "PE\0\0" is */
	bool pe32_plus;            /* optional header magic 0x20b */
	uint16_t machine;          /* IMAGE_FILE_MACHINE_*, 0x8664 = x86-64 */
	uint16_t characteristics;  /* COFF characteristics (0x2000 = DLL) */
	uint16_t subsystem;        /* 2 = GUI, 3 = console */
	uint32_t file_alignment;
	uint32_t size_of_headers;
	uint32_t resource_rva;     /* data directory 2; 0 when absent */
	uint32_t resource_size;
	uint16_t section_count;
	struct pe_section *sections;
};

/*
 * Whether source holds a PE file: "MZ", e_lfanew inside the file, "PE\0\0"
 * and a PE32 or PE32+ optional header magic.  Returns 0 (then *pe32_plus and
 * *header_offset are set; either pointer may be NULL), -ENOEXEC when it is
 * not a PE file, or a negative errno from reading.
 */
int pe_image_probe(const struct byte_source *source, uint32_t *header_offset,
		   bool *pe32_plus);

/*
 * Read the headers and the section table.  The source must outlive the
 * image.  Returns 0, -ENOEXEC (not PE), -EBADMSG (headers cut short or
 * inconsistent), -ENOMEM, or -errno; error says why.
 */
int pe_image_open(struct pe_image *image, const struct byte_source *source,
		  struct parse_error *error);

void pe_image_close(struct pe_image *image);

/*
 * Map an RVA to a file offset.  *in_file gets how many bytes from there on
 * belong to the file image of the containing section (or the headers); 0
 * means the RVA is mapped but backed by no file bytes.  Returns 0, or
 * -ERANGE when no section and not the headers contain the RVA.
 */
int pe_image_map(const struct pe_image *image, uint32_t rva, uint64_t *offset,
		 uint32_t *in_file);

/* "x86-64", "i386", "ARM64"... or NULL for a machine we don't name. */
const char *pe_machine_name(uint16_t machine);

#endif
