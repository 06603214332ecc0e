/*
 * pe_builder.h - building small PE images with version resources in memory,
 * for the unit tests and the fuzzing seeds (test code only).
 *
 * vs_* write VS_VERSIONINFO nodes into a vs_writer: vs_open() writes the
 * header and key, the caller writes the value, vs_close() fills wLength.
 * pe_build() lays out a PE32 or PE32+ file: headers, one .rsrc section at
 * RVA 0x1000 (file offset 0x400) holding the three-level resource tree for
 * RT_VERSION and the blobs given.
 */
#ifndef RMMHUNT_TESTS_PE_BUILDER_H
#define RMMHUNT_TESTS_PE_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VS_WRITER_SIZE 65536
#define PE_BUILDER_RSRC_RVA 0x1000u
#define PE_BUILDER_RSRC_OFFSET 0x400u

struct vs_writer {
	unsigned char data[VS_WRITER_SIZE];
	size_t size;
};

static void put16(unsigned char *at, uint16_t value)
{
	at[0] = (unsigned char)value;
	at[1] = (unsigned char)(value >> 8);
}

static void put32(unsigned char *at, uint32_t value)
{
	put16(at, (uint16_t)value);
	put16(at + 2, (uint16_t)(value >> 16));
}

static void vs_pad(struct vs_writer *writer)
{
	while (writer->size % 4)
		writer->data[writer->size++] = 0;
}

/* ASCII text as UTF-16LE units, with (nul) or without its NUL. */
static void vs_ascii(struct vs_writer *writer, const char *text, bool nul)
{
	size_t length = strlen(text) + (nul ? 1 : 0);

	for (size_t i = 0; i < length; i++) {
		put16(writer->data + writer->size, (unsigned char)text[i]);
		writer->size += 2;
	}
}

static void vs_units(struct vs_writer *writer, const uint16_t *units, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		put16(writer->data + writer->size, units[i]);
		writer->size += 2;
	}
}

static void vs_bytes(struct vs_writer *writer, const void *bytes, size_t count)
{
	memcpy(writer->data + writer->size, bytes, count);
	writer->size += count;
}

static size_t vs_open(struct vs_writer *writer, const char *key, uint16_t value_length,
		      uint16_t type)
{
	size_t start = writer->size;

	put16(writer->data + start + 2, value_length);
	put16(writer->data + start + 4, type);
	writer->size += 6;
	vs_ascii(writer, key, true);
	vs_pad(writer);
	return start;
}

static void vs_close(struct vs_writer *writer, size_t start)
{
	put16(writer->data + start, (uint16_t)(writer->size - start));
	vs_pad(writer);
}

/* A String node with an ASCII value and the usual wValueLength (length + NUL). */
static void vs_string(struct vs_writer *writer, const char *key, const char *value)
{
	size_t node = vs_open(writer, key, (uint16_t)(strlen(value) + 1), 1);

	vs_ascii(writer, value, true);
	vs_close(writer, node);
}

/* A String node with the value_length given (to write wrong ones). */
static void vs_string_length(struct vs_writer *writer, const char *key, const char *value,
			     uint16_t value_length)
{
	size_t node = vs_open(writer, key, value_length, 1);

	vs_ascii(writer, value, true);
	vs_close(writer, node);
}

static void vs_translation(struct vs_writer *writer, const char *info_key,
			   const uint16_t *pairs, size_t pair_count)
{
	size_t info = vs_open(writer, info_key, 0, 1);
	size_t var = vs_open(writer, "Translation", (uint16_t)(4 * pair_count), 0);

	vs_units(writer, pairs, 2 * pair_count);
	vs_close(writer, var);
	vs_close(writer, info);
}

/* The root node with a VS_FIXEDFILEINFO of version 1.2.3.4; close it with vs_close. */
static size_t vs_root(struct vs_writer *writer)
{
	unsigned char fixed[52] = {0};
	size_t root = vs_open(writer, "VS_VERSION_INFO", sizeof(fixed), 0);

	put32(fixed, 0xFEEF04BDu);
	put32(fixed + 4, 0x00010000);
	put32(fixed + 8, 0x00010002);    /* file version 1.2 */
	put32(fixed + 12, 0x00030004);   /* .3.4 */
	put32(fixed + 16, 0x00050006);   /* product 5.6.7.8 */
	put32(fixed + 20, 0x00070008);
	put32(fixed + 36, 0x00000001);   /* VFT_APP */
	vs_bytes(writer, fixed, sizeof(fixed));
	vs_pad(writer);
	return root;
}

/*
 * A complete, well-formed version blob: one table (key) with CompanyName
 * and ProductName, Translation naming translation (language, code page).
 */
static void vs_simple(struct vs_writer *writer, const char *table_key, const char *company,
		      const char *product, uint16_t language, uint16_t code_page)
{
	const uint16_t pairs[] = {language, code_page};
	size_t root;
	size_t info;
	size_t table;

	writer->size = 0;
	root = vs_root(writer);
	info = vs_open(writer, "StringFileInfo", 0, 1);
	table = vs_open(writer, table_key, 0, 1);
	vs_string(writer, "CompanyName", company);
	vs_string(writer, "ProductName", product);
	vs_close(writer, table);
	vs_close(writer, info);
	vs_translation(writer, "VarFileInfo", pairs, 1);
	vs_close(writer, root);
}

struct pe_leaf {
	uint16_t name;                 /* RT_VERSION name ID */
	uint16_t language;
	const unsigned char *blob;
	size_t blob_size;
};

/* Bytes of the resource section for these leaves (one name directory per distinct name). */
static size_t pe_build_resources(unsigned char *rsrc, const struct pe_leaf *leaves, size_t count)
{
	uint16_t names[16];
	size_t name_count = 0;
	size_t at;

	for (size_t i = 0; i < count; i++) {
		bool seen = false;

		for (size_t n = 0; n < name_count; n++)
			seen = seen || names[n] == leaves[i].name;
		if (!seen && name_count < 16)
			names[name_count++] = leaves[i].name;
	}
	/* root: one type entry (16) */
	put16(rsrc + 14, 1);
	put32(rsrc + 16, 16);
	put32(rsrc + 20, 0x80000000u | 24);
	/* name directory at 24 */
	put16(rsrc + 24 + 14, (uint16_t)name_count);
	at = 24 + 16 + 8 * name_count;
	size_t data_entries = at;
	for (size_t n = 0; n < name_count; n++)
		for (size_t i = 0; i < count; i++)
			data_entries += leaves[i].name == names[n] ? 8 : 0;
	data_entries += 16 * name_count;
	size_t blob_at = data_entries + 16 * count;
	size_t leaf_number = 0;
	for (size_t n = 0; n < name_count; n++) {
		size_t language_dir = at;
		size_t language_count = 0;

		put32(rsrc + 24 + 16 + 8 * n, names[n]);
		put32(rsrc + 24 + 16 + 8 * n + 4, 0x80000000u | (uint32_t)language_dir);
		for (size_t i = 0; i < count; i++) {
			if (leaves[i].name != names[n])
				continue;
			size_t entry = data_entries + 16 * leaf_number++;

			put32(rsrc + language_dir + 16 + 8 * language_count, leaves[i].language);
			put32(rsrc + language_dir + 16 + 8 * language_count + 4, (uint32_t)entry);
			language_count++;
			put32(rsrc + entry, PE_BUILDER_RSRC_RVA + (uint32_t)blob_at);
			put32(rsrc + entry + 4, (uint32_t)leaves[i].blob_size);
			memcpy(rsrc + blob_at, leaves[i].blob, leaves[i].blob_size);
			blob_at = (blob_at + leaves[i].blob_size + 3) & ~(size_t)3;
		}
		put16(rsrc + language_dir + 14, (uint16_t)language_count);
		at = language_dir + 16 + 8 * language_count;
	}
	return blob_at;
}

/*
 * Write a PE file into out (zeroed first; capacity must hold 0x400 plus the
 * resources).  Returns its size.
 */
static size_t pe_build(unsigned char *out, size_t capacity, bool pe32_plus,
		       const struct pe_leaf *leaves, size_t count)
{
	uint32_t optional_size = pe32_plus ? 240 : 224;
	uint32_t directories = pe32_plus ? 112 : 96;
	unsigned char *optional = out + 0x40 + 24;
	unsigned char *section = optional + optional_size;

	memset(out, 0, capacity);
	out[0] = 'M';
	out[1] = 'Z';
	put32(out + 0x3c, 0x40);
	memcpy(out + 0x40, "PE\0\0", 4);
	put16(out + 0x44, pe32_plus ? 0x8664 : 0x014c);
	put16(out + 0x46, 1);
	put16(out + 0x54, (uint16_t)optional_size);
	put16(out + 0x56, 0x0022);
	put16(optional, pe32_plus ? 0x20b : 0x10b);
	put32(optional + 32, 0x1000);              /* SectionAlignment */
	put32(optional + 36, 0x200);               /* FileAlignment */
	put32(optional + 60, 0x400);               /* SizeOfHeaders */
	put16(optional + 68, 3);                   /* console */
	put32(optional + directories - 4, 16);
	size_t rsrc_size = pe_build_resources(out + PE_BUILDER_RSRC_OFFSET, leaves, count);
	size_t raw_size = (rsrc_size + 0x1ff) & ~(size_t)0x1ff;
	put32(optional + directories + 16, PE_BUILDER_RSRC_RVA);
	put32(optional + directories + 20, (uint32_t)rsrc_size);
	memcpy(section, ".rsrc", 5);
	put32(section + 8, (uint32_t)rsrc_size);
	put32(section + 12, PE_BUILDER_RSRC_RVA);
	put32(section + 16, (uint32_t)raw_size);
	put32(section + 20, PE_BUILDER_RSRC_OFFSET);
	return PE_BUILDER_RSRC_OFFSET + raw_size;
}

#endif
