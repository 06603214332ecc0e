/*
 * pe_resource.c - a bounded, iterative walk of the resource tree (see
 * pe_resource.h).
 *
 * The walk reads the type directory, picks the entry with the wanted ID,
 * reads that name directory, and for each name reads its language directory
 * and each language's data entry: two reads a directory (header, entries)
 * and one a leaf.  The offsets of directories already read are remembered;
 * meeting one again means the tree loops or is shared, and that branch is
 * not followed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "binident/pe_resource.h"

#define DIRECTORY_HEADER_SIZE 16
#define DIRECTORY_ENTRY_SIZE 8
#define DATA_ENTRY_SIZE 16
#define HIGH_BIT 0x80000000u

struct directory_entry {
	uint32_t name;        /* ID, or string offset when named */
	bool named;
	bool is_directory;
	uint32_t offset;      /* relative to the tree's root, high bit cleared */
};

struct walk {
	const struct pe_image *image;
	struct pe_resource_list *list;
	size_t capacity;                 /* leaves allocated */
	uint32_t *visited;               /* offsets of directories read */
	size_t visited_count;
	size_t visited_capacity;
	unsigned char *entry_buffer;     /* PE_RESOURCE_MAX_ENTRIES entries */
};

/*
 * Bytes of the tree readable from offset (from the tree's root): inside the
 * file image of the section holding it and inside the file.  0 when the
 * offset maps nowhere.
 */
static uint32_t tree_available(const struct walk *walk, uint32_t offset, uint64_t *file_offset)
{
	const struct pe_image *image = walk->image;
	uint32_t in_file;

	if (offset > UINT32_MAX - image->resource_rva)
		return 0;
	if (pe_image_map(image, image->resource_rva + offset, file_offset, &in_file) < 0)
		return 0;
	uint64_t in_source = byte_source_available(&image->source, *file_offset);
	return in_source < in_file ? (uint32_t)in_source : in_file;
}

/* Read length bytes at offset from the tree's root; -ERANGE when out of the file. */
static int read_tree(const struct walk *walk, uint32_t offset, void *out, uint32_t length)
{
	uint64_t file_offset;

	if (tree_available(walk, offset, &file_offset) < length)
		return -ERANGE;
	return byte_source_read(&walk->image->source, file_offset, out, length);
}

/* Remember a directory; false when it was read before (or memory ran out). */
static bool visit(struct walk *walk, uint32_t offset)
{
	for (size_t i = 0; i < walk->visited_count; i++) {
		if (walk->visited[i] == offset) {
			walk->list->anomalies |= PE_RESOURCE_ANOMALY_LOOP;
			return false;
		}
	}
	uint32_t *visited = array_reserve(walk->visited, &walk->visited_capacity,
					  walk->visited_count + 1, 16, sizeof(*visited));

	if (!visited)
		return false;
	walk->visited = visited;
	walk->visited[walk->visited_count++] = offset;
	return true;
}

/*
 * Read the directory at offset into walk->entry_buffer.  Returns the number
 * of entries read (capped), 0 when it cannot be read (flagged), or -errno
 * for an I/O error.
 */
static int read_directory(struct walk *walk, uint32_t offset)
{
	unsigned char header[DIRECTORY_HEADER_SIZE];
	int result;

	if (!visit(walk, offset))
		return 0;
	result = read_tree(walk, offset, header, sizeof(header));
	if (result == -ERANGE) {
		walk->list->anomalies |= PE_RESOURCE_ANOMALY_OUT_OF_BOUNDS;
		return 0;
	}
	if (result < 0)
		return result;
	uint32_t count = (uint32_t)load_le16(header + 12) + load_le16(header + 14);
	if (count > PE_RESOURCE_MAX_ENTRIES) {
		walk->list->anomalies |= PE_RESOURCE_ANOMALY_LIMIT;
		count = PE_RESOURCE_MAX_ENTRIES;
	}
	uint64_t file_offset = 0;
	uint32_t room = tree_available(walk, offset + DIRECTORY_HEADER_SIZE, &file_offset);
	if (room / DIRECTORY_ENTRY_SIZE < count) {
		/* Entries cut by the end of the data: keep those that are there. */
		walk->list->anomalies |= PE_RESOURCE_ANOMALY_OUT_OF_BOUNDS;
		count = room / DIRECTORY_ENTRY_SIZE;
	}
	result = byte_source_read(&walk->image->source, file_offset, walk->entry_buffer,
				  (size_t)count * DIRECTORY_ENTRY_SIZE);
	if (result < 0)
		return result;
	return (int)count;
}

static struct directory_entry decode_entry(const unsigned char *bytes)
{
	struct directory_entry entry;
	uint32_t name = load_le32(bytes);
	uint32_t target = load_le32(bytes + 4);

	entry.named = (name & HIGH_BIT) != 0;
	entry.name = name & ~HIGH_BIT;
	entry.is_directory = (target & HIGH_BIT) != 0;
	entry.offset = target & ~HIGH_BIT;
	return entry;
}

static int add_leaf(struct walk *walk, const struct directory_entry *name,
		    const struct directory_entry *language)
{
	unsigned char data_entry[DATA_ENTRY_SIZE];
	struct pe_resource_list *list = walk->list;
	int result;

	if (language->is_directory || language->named) {
		list->anomalies |= PE_RESOURCE_ANOMALY_SHAPE;
		return 0;
	}
	if (list->count == PE_RESOURCE_MAX_LEAVES) {
		list->anomalies |= PE_RESOURCE_ANOMALY_LIMIT;
		return 0;
	}
	result = read_tree(walk, language->offset, data_entry, sizeof(data_entry));
	if (result == -ERANGE) {
		list->anomalies |= PE_RESOURCE_ANOMALY_OUT_OF_BOUNDS;
		return 0;
	}
	if (result < 0)
		return result;
	struct pe_resource_leaf *leaves = array_reserve(list->leaves, &walk->capacity,
							list->count + 1, 8, sizeof(*leaves));

	if (!leaves)
		return -ENOMEM;
	list->leaves = leaves;
	struct pe_resource_leaf *leaf = &list->leaves[list->count++];
	leaf->name = name->name;
	leaf->named = name->named;
	leaf->language = (uint16_t)language->name;
	leaf->data_rva = load_le32(data_entry);
	leaf->data_size = load_le32(data_entry + 4);
	leaf->code_page = load_le32(data_entry + 8);
	return 0;
}

/* Copy the n entries now in entry_buffer (it is reused by deeper reads). */
static struct directory_entry *copy_entries(const struct walk *walk, int count)
{
	struct directory_entry *entries = calloc((size_t)count, sizeof(*entries));

	if (!entries)
		return NULL;
	for (int i = 0; i < count; i++)
		entries[i] = decode_entry(walk->entry_buffer + (size_t)i * DIRECTORY_ENTRY_SIZE);
	return entries;
}

static int walk_languages(struct walk *walk, const struct directory_entry *name)
{
	int count;

	if (!name->is_directory) {
		walk->list->anomalies |= PE_RESOURCE_ANOMALY_SHAPE;
		return 0;
	}
	count = read_directory(walk, name->offset);
	for (int i = 0; i < count; i++) {
		struct directory_entry language =
			decode_entry(walk->entry_buffer + (size_t)i * DIRECTORY_ENTRY_SIZE);
		int result = add_leaf(walk, name, &language);

		if (result < 0)
			return result;
	}
	return count < 0 ? count : 0;
}

static int walk_names(struct walk *walk, const struct directory_entry *type)
{
	struct directory_entry *names;
	int count;
	int result = 0;

	if (!type->is_directory) {
		walk->list->anomalies |= PE_RESOURCE_ANOMALY_SHAPE;
		return 0;
	}
	count = read_directory(walk, type->offset);
	if (count <= 0)
		return count;
	names = copy_entries(walk, count);
	if (!names)
		return -ENOMEM;
	for (int i = 0; i < count && result == 0; i++) {
		if (walk->list->count == PE_RESOURCE_MAX_LEAVES) {
			walk->list->anomalies |= PE_RESOURCE_ANOMALY_LIMIT;
			break;
		}
		result = walk_languages(walk, &names[i]);
	}
	free(names);
	return result;
}

static int walk_types(struct walk *walk, uint16_t type_id)
{
	int count = read_directory(walk, 0);

	for (int i = 0; i < count; i++) {
		struct directory_entry type =
			decode_entry(walk->entry_buffer + (size_t)i * DIRECTORY_ENTRY_SIZE);

		if (!type.named && type.name == type_id)
			return walk_names(walk, &type);
	}
	return count < 0 ? count : 0;
}

int pe_resource_find(const struct pe_image *image, uint16_t type_id,
		     struct pe_resource_list *list, struct parse_error *error)
{
	struct walk walk;
	int result;

	memset(list, 0, sizeof(*list));
	if (image->resource_rva == 0)
		return 0;
	memset(&walk, 0, sizeof(walk));
	walk.image = image;
	walk.list = list;
	walk.entry_buffer = malloc((size_t)PE_RESOURCE_MAX_ENTRIES * DIRECTORY_ENTRY_SIZE);
	if (!walk.entry_buffer)
		return parse_error_set(error, -ENOMEM, "out of memory for the resource tree");
	result = walk_types(&walk, type_id);
	free(walk.entry_buffer);
	free(walk.visited);
	if (result < 0) {
		pe_resource_list_free(list);
		return parse_error_set(error, result, "cannot read the resource tree");
	}
	return 0;
}

void pe_resource_list_free(struct pe_resource_list *list)
{
	free(list->leaves);
	list->leaves = NULL;
	list->count = 0;
}
