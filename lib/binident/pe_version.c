/*
 * pe_version.c - decoding VS_VERSIONINFO blobs and choosing the table a
 * Windows program would read (see pe_version.h).
 *
 * Every node of a version blob is
 *     WORD wLength; WORD wValueLength; WORD wType; WCHAR szKey[]; pad to 4;
 *     value; pad to 4; children
 * with offsets aligned relative to the blob's start.  A node's children are
 * iterated from its first child up to its end (start + wLength, clamped to
 * the parent); wLength 0 ends the iteration (as in Windows), 1..5 ends it
 * and is flagged.  The value's size is wValueLength bytes for binary nodes
 * (wType 0) and wValueLength WCHARs for text nodes (wType 1), as Windows'
 * VerQueryValue computes it, except for String values, which are read up to
 * their NUL.  The tree has a fixed depth (root -> StringFileInfo ->
 * StringTable -> String, root -> VarFileInfo -> Var), so there is no
 * recursion: one function per level.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/array.h"
#include "binident/pe_version.h"
#include "base/text.h"
#include "base/utf16.h"

#define NODE_HEADER_SIZE 6
#define FIXED_INFO_SIZE 52
#define FIXED_INFO_SIGNATURE 0xFEEF04BDu
#define DUPLICATE_CHECK_WINDOW 64   /* keys compared for duplicates */

struct blob {
	const unsigned char *data;
	size_t size;
};

struct vs_node {
	size_t start;
	size_t end;            /* start + wLength, clamped to the parent */
	uint16_t length;       /* wLength as written */
	uint16_t value_length;
	uint16_t type;
	size_t key_units;      /* UTF-16 units of the key before its NUL */
	size_t value_start;    /* 4-aligned after the key's NUL, at most end */
};

/* What one leaf's decoding works with. */
struct leaf_parse {
	struct arena *arena;
	struct blob blob;
	struct pe_version_resource *resource;
	size_t table_capacity;
	bool seen_string_file_info;
	bool seen_var_file_info;
};

static size_t align4(size_t offset)
{
	return (offset + 3) & ~(size_t)3;
}

/*
 * Read the node at offset inside a parent ending at parent_end.  Returns
 * false when the iteration ends here: no room for a header, or wLength 0
 * (normal end), or wLength 1..5 (flagged).
 */
static bool node_read(const struct blob *blob, size_t offset, size_t parent_end,
		      struct vs_node *node, uint32_t *anomalies)
{
	const unsigned char *header = blob->data + offset;
	bool terminated;

	if (offset >= parent_end || parent_end - offset < NODE_HEADER_SIZE)
		return false;
	node->length = load_le16(header);
	if (node->length == 0)
		return false;
	if (node->length < NODE_HEADER_SIZE) {
		*anomalies |= PE_ANOMALY_NODE_LENGTH;
		return false;
	}
	node->start = offset;
	node->end = offset + node->length;
	if (node->end > parent_end) {
		*anomalies |= PE_ANOMALY_NODE_OVERRUN;
		node->end = parent_end;
	}
	node->value_length = load_le16(header + 2);
	node->type = load_le16(header + 4);
	size_t key_start = offset + NODE_HEADER_SIZE;
	node->key_units = utf16le_length(blob->data + key_start,
					 (node->end - key_start) / 2, &terminated);
	if (!terminated)
		*anomalies |= PE_ANOMALY_UNTERMINATED;
	size_t key_end = key_start + 2 * node->key_units + (terminated ? 2 : 0);
	node->value_start = align4(key_end) < node->end ? align4(key_end) : node->end;
	return true;
}

/* Where the node's next sibling starts. */
static size_t node_next(const struct vs_node *node)
{
	return align4(node->start + node->length);
}

/* Where the node's first child starts: after its value (wValueLength). */
static size_t node_children(const struct vs_node *node, uint32_t *anomalies)
{
	size_t value_bytes = (size_t)node->value_length * (node->type == 1 ? 2 : 1);

	if (value_bytes > node->end - node->value_start) {
		*anomalies |= PE_ANOMALY_VALUE_LENGTH;
		return node->end;
	}
	return align4(node->value_start + value_bytes);
}

static unsigned ascii_lower(unsigned c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Whether the node's key is name (ASCII, case-insensitive), as Windows compares. */
static bool node_key_is(const struct blob *blob, const struct vs_node *node, const char *name)
{
	const unsigned char *key = blob->data + node->start + NODE_HEADER_SIZE;

	if (node->key_units != strlen(name))
		return false;
	for (size_t i = 0; i < node->key_units; i++) {
		uint16_t unit = load_le16(key + 2 * i);
		unsigned char wanted = (unsigned char)name[i];

		if (unit > 0x7f || ascii_lower(unit) != ascii_lower(wanted))
			return false;
	}
	return true;
}

/* Decode units UTF-16 units at offset into an arena string; NULL when out of budget. */
static char *decode(struct leaf_parse *parse, size_t offset, size_t units)
{
	char *text = arena_alloc(parse->arena, UTF16_UTF8_CAPACITY(units));
	size_t replaced;

	if (!text)
		return NULL;
	utf16le_to_utf8(parse->blob.data + offset, units, text, &replaced);
	if (replaced > 0)
		parse->resource->anomalies |= PE_ANOMALY_UNPAIRED_SURROGATE;
	return text;
}

static char *decode_key(struct leaf_parse *parse, const struct vs_node *node)
{
	return decode(parse, node->start + NODE_HEADER_SIZE, node->key_units);
}

static int parse_string(struct leaf_parse *parse, const struct vs_node *node,
			struct pe_version_string *string)
{
	const struct blob *blob = &parse->blob;
	size_t room_units = (node->end - node->value_start) / 2;
	bool terminated = false;
	size_t units = utf16le_length(blob->data + node->value_start, room_units, &terminated);

	string->key = decode_key(parse, node);
	string->value = decode(parse, node->value_start, units);
	if (!string->key || !string->value)
		return -ENOMEM;
	string->value_length = node->value_length;
	if (room_units > 0 && !terminated)
		string->anomalies |= PE_ANOMALY_UNTERMINATED;
	if (node->value_length == 0 && units > 0)
		string->anomalies |= PE_ANOMALY_STRING_VALUE_LENGTH_ZERO;
	else if (node->value_length != 0 && node->value_length != units &&
		 node->value_length != units + 1)
		string->anomalies |= PE_ANOMALY_STRING_VALUE_LENGTH_MISMATCH;
	parse->resource->anomalies |= string->anomalies;
	return 0;
}

static bool is_duplicate_key(const struct pe_string_table *table, const char *key)
{
	size_t window = table->string_count < DUPLICATE_CHECK_WINDOW ?
		table->string_count : DUPLICATE_CHECK_WINDOW;

	for (size_t i = 0; i < window; i++) {
		if (strcasecmp(table->strings[i].key, key) == 0)
			return true;
	}
	return false;
}

/* Take language and code page from an "llllcccc" key. */
static void parse_table_key(struct pe_string_table *table)
{
	uint32_t number = 0;

	table->key_is_hex = strlen(table->key) == 8;
	for (size_t i = 0; table->key_is_hex && i < 8; i++) {
		int digit = text_hex_digit(table->key[i]);

		if (digit < 0)
			table->key_is_hex = false;
		number = number << 4 | (uint32_t)(digit & 0xf);
	}
	if (table->key_is_hex) {
		table->language = (uint16_t)(number >> 16);
		table->code_page = (uint16_t)number;
	}
}

static int parse_table(struct leaf_parse *parse, const struct vs_node *table_node,
		       struct pe_string_table *table)
{
	uint32_t *anomalies = &parse->resource->anomalies;
	size_t capacity = 0;
	struct vs_node node;

	table->key = decode_key(parse, table_node);
	if (!table->key)
		return -ENOMEM;
	parse_table_key(table);
	if (!table->key_is_hex)
		*anomalies |= PE_ANOMALY_TABLE_KEY;
	for (size_t offset = node_children(table_node, anomalies);
	     node_read(&parse->blob, offset, table_node->end, &node, anomalies);
	     offset = node_next(&node)) {
		struct pe_version_string string = {0};
		int result = parse_string(parse, &node, &string);

		if (result < 0)
			return result;
		if (is_duplicate_key(table, string.key)) {
			string.anomalies |= PE_ANOMALY_DUPLICATE_KEY;
			*anomalies |= PE_ANOMALY_DUPLICATE_KEY;
		}
		table->strings = arena_array_reserve(parse->arena, table->strings,
						     table->string_count, &capacity,
						     table->string_count + 1, 8,
						     sizeof(*table->strings));
		if (!table->strings)
			return -ENOMEM;
		table->strings[table->string_count++] = string;
	}
	return 0;
}

static int parse_string_file_info(struct leaf_parse *parse, const struct vs_node *info)
{
	struct pe_version_resource *resource = parse->resource;
	bool first_block = !parse->seen_string_file_info;
	struct vs_node node;

	if (!first_block)
		resource->anomalies |= PE_ANOMALY_DUPLICATE_BLOCK;
	parse->seen_string_file_info = true;
	for (size_t offset = node_children(info, &resource->anomalies);
	     node_read(&parse->blob, offset, info->end, &node, &resource->anomalies);
	     offset = node_next(&node)) {
		resource->tables = arena_array_reserve(parse->arena, resource->tables,
						       resource->table_count,
						       &parse->table_capacity,
						       resource->table_count + 1, 8,
						       sizeof(*resource->tables));
		if (!resource->tables)
			return -ENOMEM;
		struct pe_string_table *table = &resource->tables[resource->table_count++];
		table->in_first_block = first_block;
		int result = parse_table(parse, &node, table);
		if (result < 0)
			return result;
		for (size_t i = 0; i + 1 < resource->table_count; i++) {
			if (resource->tables[i].in_first_block == first_block &&
			    strcasecmp(resource->tables[i].key, table->key) == 0)
				resource->anomalies |= PE_ANOMALY_DUPLICATE_KEY;
		}
	}
	return 0;
}

static int parse_translation(struct leaf_parse *parse, const struct vs_node *var)
{
	struct pe_version_resource *resource = parse->resource;
	size_t value_bytes = (size_t)var->value_length * (var->type == 1 ? 2 : 1);

	if (value_bytes > var->end - var->value_start) {
		resource->anomalies |= PE_ANOMALY_VALUE_LENGTH;
		value_bytes = var->end - var->value_start;
	}
	resource->translation_count = value_bytes / 4;
	if (resource->translation_count == 0)
		return 0;
	resource->translations = arena_alloc(parse->arena, resource->translation_count *
					     sizeof(*resource->translations));
	if (!resource->translations)
		return -ENOMEM;
	for (size_t i = 0; i < resource->translation_count; i++) {
		const unsigned char *pair = parse->blob.data + var->value_start + 4 * i;

		resource->translations[i].language = load_le16(pair);
		resource->translations[i].code_page = load_le16(pair + 2);
	}
	return 0;
}

static int parse_var_file_info(struct leaf_parse *parse, const struct vs_node *info)
{
	struct pe_version_resource *resource = parse->resource;
	bool have_translation = parse->seen_var_file_info;
	struct vs_node node;

	if (parse->seen_var_file_info)
		resource->anomalies |= PE_ANOMALY_DUPLICATE_BLOCK;
	parse->seen_var_file_info = true;
	for (size_t offset = node_children(info, &resource->anomalies);
	     node_read(&parse->blob, offset, info->end, &node, &resource->anomalies);
	     offset = node_next(&node)) {
		if (!node_key_is(&parse->blob, &node, "Translation")) {
			resource->anomalies |= PE_ANOMALY_UNKNOWN_BLOCK;
			continue;
		}
		if (have_translation) {
			resource->anomalies |= PE_ANOMALY_DUPLICATE_BLOCK;
			continue;
		}
		have_translation = true;
		int result = parse_translation(parse, &node);
		if (result < 0)
			return result;
	}
	return 0;
}

static void parse_fixed(struct leaf_parse *parse, const struct vs_node *root)
{
	struct pe_version_resource *resource = parse->resource;
	size_t value_bytes = (size_t)root->value_length * (root->type == 1 ? 2 : 1);
	const unsigned char *value = parse->blob.data + root->value_start;
	uint32_t fields[13];

	if (value_bytes != FIXED_INFO_SIZE)
		resource->anomalies |= PE_ANOMALY_FIXED_INFO;
	if (value_bytes < FIXED_INFO_SIZE || root->end - root->value_start < FIXED_INFO_SIZE)
		return;
	for (size_t i = 0; i < 13; i++)
		fields[i] = load_le32(value + 4 * i);
	if (fields[0] != FIXED_INFO_SIGNATURE) {
		resource->anomalies |= PE_ANOMALY_FIXED_INFO;
		return;
	}
	resource->has_fixed = true;
	resource->fixed = (struct pe_fixed_file_info){
		.struct_version = fields[1],
		.file_version_ms = fields[2],
		.file_version_ls = fields[3],
		.product_version_ms = fields[4],
		.product_version_ls = fields[5],
		.file_flags_mask = fields[6],
		.file_flags = fields[7],
		.file_os = fields[8],
		.file_type = fields[9],
		.file_subtype = fields[10],
		.file_date_ms = fields[11],
		.file_date_ls = fields[12],
	};
}

static int parse_root(struct leaf_parse *parse)
{
	struct pe_version_resource *resource = parse->resource;
	struct vs_node root;
	struct vs_node node;
	int result = 0;

	if (!node_read(&parse->blob, 0, parse->blob.size, &root, &resource->anomalies)) {
		resource->anomalies |= PE_ANOMALY_NODE_LENGTH;
		return 0;
	}
	if (!node_key_is(&parse->blob, &root, "VS_VERSION_INFO"))
		resource->anomalies |= PE_ANOMALY_ROOT_KEY;
	parse_fixed(parse, &root);
	for (size_t offset = node_children(&root, &resource->anomalies);
	     result == 0 && node_read(&parse->blob, offset, root.end, &node, &resource->anomalies);
	     offset = node_next(&node)) {
		if (node_key_is(&parse->blob, &node, "StringFileInfo"))
			result = parse_string_file_info(parse, &node);
		else if (node_key_is(&parse->blob, &node, "VarFileInfo"))
			result = parse_var_file_info(parse, &node);
		else
			resource->anomalies |= PE_ANOMALY_UNKNOWN_BLOCK;
	}
	return result;
}

/*
 * Read a leaf's blob (at most PE_VERSION_MAX_BLOB bytes) into buffer.
 * Returns the bytes read, or -errno for an I/O error; what the file lacks is
 * flagged as truncation.
 */
static int read_blob(const struct pe_image *image, struct pe_version_resource *resource,
		     unsigned char *buffer)
{
	uint32_t size = resource->leaf.data_size;
	uint64_t offset;
	uint32_t in_file;

	if (size > PE_VERSION_MAX_BLOB) {
		resource->anomalies |= PE_ANOMALY_BLOB_SIZE;
		size = PE_VERSION_MAX_BLOB;
	}
	if (pe_image_map(image, resource->leaf.data_rva, &offset, &in_file) < 0) {
		resource->anomalies |= PE_ANOMALY_RESOURCE_OUT_OF_BOUNDS;
		return 0;
	}
	uint64_t available = byte_source_available(&image->source, offset);
	if (available < in_file)
		in_file = (uint32_t)available;
	if (in_file < size) {
		resource->anomalies |= PE_ANOMALY_TRUNCATED;
		size = in_file;
	}
	int result = byte_source_read(&image->source, offset, buffer, size);
	return result < 0 ? result : (int)size;
}

static int parse_leaf(struct pe_version_info *info, const struct pe_image *image,
		      struct pe_version_resource *resource, unsigned char *buffer)
{
	struct leaf_parse parse = {
		.arena = &info->arena,
		.resource = resource,
	};
	int size = read_blob(image, resource, buffer);

	if (size < 0)
		return size;
	parse.blob.data = buffer;
	parse.blob.size = (size_t)size;
	resource->parsed = true;
	return parse_root(&parse);
}

/*
 * The leaf Windows' resource loader picks for VS_VERSION_INFO (name ID 1)
 * with a neutral language on an en-US system: language 0x0000, then 0x0409,
 * then 0x0009, then the first.  A file without name 1 gets its first name.
 */
static size_t choose_leaf(const struct pe_resource_list *list, uint32_t *anomalies)
{
	static const uint16_t preferred[] = {0x0000, 0x0409, 0x0009};
	uint32_t name = list->leaves[0].name;
	bool named = list->leaves[0].named;
	size_t first = 0;

	for (size_t i = 0; i < list->count; i++) {
		if (!list->leaves[i].named && list->leaves[i].name == 1) {
			name = 1;
			named = false;
			first = i;
			break;
		}
	}
	if (named || name != 1)
		*anomalies |= PE_ANOMALY_NOT_ID_1;
	for (size_t p = 0; p < sizeof(preferred) / sizeof(preferred[0]); p++) {
		for (size_t i = 0; i < list->count; i++) {
			const struct pe_resource_leaf *leaf = &list->leaves[i];

			if (leaf->named == named && leaf->name == name &&
			    leaf->language == preferred[p])
				return i;
		}
	}
	return first;
}

/* A table of the first StringFileInfo whose key is "llllcccc" (any case). */
static const struct pe_string_table *find_table(const struct pe_version_resource *resource,
						uint16_t language, uint16_t code_page)
{
	char key[9];

	snprintf(key, sizeof(key), "%04x%04x", language, code_page);
	for (size_t i = 0; i < resource->table_count; i++) {
		if (resource->tables[i].in_first_block &&
		    strcasecmp(resource->tables[i].key, key) == 0)
			return &resource->tables[i];
	}
	return NULL;
}

static const struct pe_string_table *choose_by_translation(const struct pe_version_resource *resource,
							   enum pe_table_choice *choice)
{
	const struct pe_translation *first = &resource->translations[0];
	const struct pe_string_table *table = find_table(resource, first->language, first->code_page);

	*choice = PE_CHOICE_TRANSLATION;
	if (table)
		return table;
	*choice = PE_CHOICE_OTHER_TRANSLATION;
	for (size_t i = 1; i < resource->translation_count; i++) {
		table = find_table(resource, resource->translations[i].language,
				   resource->translations[i].code_page);
		if (table)
			return table;
	}
	*choice = PE_CHOICE_TRANSLATION_LANGUAGE;
	for (size_t i = 0; i < resource->table_count; i++) {
		if (resource->tables[i].in_first_block && resource->tables[i].key_is_hex &&
		    resource->tables[i].language == first->language)
			return &resource->tables[i];
	}
	return NULL;
}

static const struct pe_string_table *choose_table(const struct pe_version_resource *resource,
						  enum pe_table_choice *choice, uint32_t *anomalies)
{
	static const uint16_t english_code_pages[] = {0x04b0, 0x04e4, 0x0000};
	const struct pe_string_table *table;

	*choice = PE_CHOICE_NONE;
	if (resource->table_count == 0)
		return NULL;
	if (resource->translation_count == 0) {
		*anomalies |= PE_ANOMALY_NO_TRANSLATION;
	} else {
		table = choose_by_translation(resource, choice);
		if (*choice != PE_CHOICE_TRANSLATION)
			*anomalies |= PE_ANOMALY_TRANSLATION_UNMATCHED;
		if (table)
			return table;
	}
	*choice = PE_CHOICE_ENGLISH_DEFAULT;
	for (size_t i = 0; i < sizeof(english_code_pages) / sizeof(english_code_pages[0]); i++) {
		table = find_table(resource, 0x0409, english_code_pages[i]);
		if (table)
			return table;
	}
	*choice = PE_CHOICE_FIRST_TABLE;
	for (size_t i = 0; i < resource->table_count; i++) {
		if (resource->tables[i].in_first_block)
			return &resource->tables[i];
	}
	return &resource->tables[0];
}

/*
 * Decode the chosen leaf first (it must be there whatever the others cost),
 * then the others in directory order while PE_VERSION_MAX_PARSED and the
 * memory budget allow.
 */
static int parse_leaves(struct pe_version_info *info, const struct pe_image *image,
			size_t chosen)
{
	unsigned char *buffer = malloc(PE_VERSION_MAX_BLOB);
	size_t parsed = 0;
	int result;

	if (!buffer)
		return -ENOMEM;
	result = parse_leaf(info, image, &info->resources[chosen], buffer);
	for (size_t i = 0; result == 0 && i < info->resource_count; i++) {
		if (i == chosen)
			continue;
		if (++parsed >= PE_VERSION_MAX_PARSED) {
			info->anomalies |= PE_ANOMALY_RESOURCE_LIMIT;
			break;
		}
		result = parse_leaf(info, image, &info->resources[i], buffer);
		if (result == -ENOMEM) {
			/* Out of budget: drop this leaf's partial decoding, say so. */
			info->resources[i].parsed = false;
			info->resources[i].table_count = 0;
			info->resources[i].translation_count = 0;
			info->anomalies |= PE_ANOMALY_RESOURCE_LIMIT;
			result = 0;
			break;
		}
	}
	free(buffer);
	return result;
}

static int collect(struct pe_version_info *info, const struct pe_image *image,
		   const struct pe_resource_list *list)
{
	size_t chosen;
	int result;

	info->anomalies |= list->anomalies;
	if (list->count == 0)
		return 0;
	info->resources = arena_alloc(&info->arena, list->count * sizeof(*info->resources));
	if (!info->resources)
		return -ENOMEM;
	info->resource_count = list->count;
	for (size_t i = 0; i < list->count; i++)
		info->resources[i].leaf = list->leaves[i];
	chosen = choose_leaf(list, &info->anomalies);
	result = parse_leaves(info, image, chosen);
	if (result < 0)
		return result;
	info->chosen_resource = &info->resources[chosen];
	info->chosen_table = choose_table(info->chosen_resource, &info->choice, &info->anomalies);
	for (size_t i = 0; i < info->resource_count; i++)
		info->anomalies |= info->resources[i].anomalies;
	return 0;
}

int pe_version_read(const struct byte_source *source, struct pe_version_info **out,
		    struct parse_error *error)
{
	struct pe_resource_list list;
	struct pe_version_info *info;
	struct pe_image image;
	int result;

	*out = NULL;
	result = pe_image_open(&image, source, error);
	if (result < 0)
		return result;
	result = pe_resource_find(&image, PE_RESOURCE_TYPE_VERSION, &list, error);
	if (result < 0) {
		pe_image_close(&image);
		return result;
	}
	info = calloc(1, sizeof(*info));
	if (!info) {
		result = parse_error_set(error, -ENOMEM, "out of memory");
		goto done;
	}
	arena_init(&info->arena, PE_VERSION_MEMORY_BUDGET);
	info->pe32_plus = image.pe32_plus;
	info->machine = image.machine;
	info->subsystem = image.subsystem;
	info->characteristics = image.characteristics;
	result = collect(info, &image, &list);
	if (result < 0) {
		parse_error_set(error, result, result == -ENOMEM ?
				"out of memory reading the version resource" :
				"cannot read the version resource");
		pe_version_free(info);
		info = NULL;
	}
done:
	pe_resource_list_free(&list);
	pe_image_close(&image);
	*out = info;
	return result;
}

int pe_version_read_fd(int fd, struct pe_version_info **out, struct parse_error *error)
{
	struct byte_source source;
	int result = byte_source_fd(&source, fd);

	*out = NULL;
	if (result < 0)
		return parse_error_set(error, result, "not a readable regular file");
	result = pe_version_read(&source, out, error);
	byte_source_close(&source);
	return result;
}

int pe_version_read_buffer(const void *data, size_t size, struct pe_version_info **out,
			   struct parse_error *error)
{
	struct byte_source source;

	byte_source_buffer(&source, data, size);
	return pe_version_read(&source, out, error);
}

void pe_version_free(struct pe_version_info *info)
{
	if (!info)
		return;
	arena_release(&info->arena);
	free(info);
}

const char *pe_string_table_lookup(const struct pe_string_table *table, const char *key)
{
	if (!table)
		return NULL;
	for (size_t i = 0; i < table->string_count; i++) {
		if (strcasecmp(table->strings[i].key, key) == 0)
			return table->strings[i].value;
	}
	return NULL;
}

const char *pe_version_lookup(const struct pe_version_info *info, const char *key)
{
	return info ? pe_string_table_lookup(info->chosen_table, key) : NULL;
}

void pe_version_format(uint32_t most, uint32_t least, char out[24])
{
	snprintf(out, 24, "%u.%u.%u.%u", most >> 16, most & 0xffff, least >> 16, least & 0xffff);
}

const char *pe_table_choice_name(enum pe_table_choice choice)
{
	switch (choice) {
	case PE_CHOICE_NONE:
		return "none";
	case PE_CHOICE_TRANSLATION:
		return "translation";
	case PE_CHOICE_OTHER_TRANSLATION:
		return "other_translation";
	case PE_CHOICE_TRANSLATION_LANGUAGE:
		return "translation_language";
	case PE_CHOICE_ENGLISH_DEFAULT:
		return "english_default";
	case PE_CHOICE_FIRST_TABLE:
		return "first_table";
	}
	return "unknown";
}

const char *pe_anomaly_next(uint32_t *bits)
{
	static const char *const names[32] = {
		[0] = "string_value_length_zero",
		[1] = "string_value_length_mismatch",
		[2] = "unterminated_text",
		[3] = "unpaired_surrogate",
		[4] = "duplicate_key",
		[5] = "table_key_not_hex",
		[6] = "root_key",
		[7] = "fixed_info",
		[8] = "unknown_block",
		[9] = "no_translation",
		[10] = "translation_unmatched",
		[11] = "version_not_id_1",
		[12] = "value_length",
		[13] = "duplicate_block",
		[16] = "node_length",
		[17] = "node_overrun",
		[18] = "truncated",
		[19] = "blob_too_large",
		[20] = "resource_out_of_bounds",
		[21] = "resource_loop",
		[22] = "resource_limit",
		[23] = "resource_shape",
	};

	while (*bits) {
		int bit = __builtin_ctz(*bits);

		*bits &= *bits - 1;
		if (names[bit])
			return names[bit];
	}
	return NULL;
}
