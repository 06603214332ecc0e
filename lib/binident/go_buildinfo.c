/*
 * go_buildinfo.c - parsing Go build info and its module text (see
 * go_buildinfo.h).  The layout follows Go's debug/buildinfo and
 * runtime/debug packages; nothing here trusts a length before checking it
 * against the bytes that are there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "binident/go_buildinfo.h"

#define FLAG_BIG_ENDIAN 1u
#define FLAG_INLINE_STRINGS 2u
#define SENTINEL_SIZE 16

struct string_bytes {
	const char *data;
	size_t size;
};

static uint64_t load_pointer(const unsigned char *bytes, unsigned size, bool big_endian)
{
	uint64_t value = 0;

	for (unsigned i = 0; i < size; i++) {
		unsigned index = big_endian ? i : size - 1 - i;

		value = value << 8 | bytes[index];
	}
	return value;
}

/* A uvarint at data[*position..size); false when malformed or cut. */
static bool read_uvarint(const unsigned char *data, size_t size, size_t *position,
			 uint64_t *value)
{
	*value = 0;
	for (unsigned shift = 0; shift < 64 && *position < size; shift += 7) {
		unsigned char byte = data[(*position)++];

		*value |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return true;
	}
	return false;
}

static int read_inline_string(const unsigned char *data, size_t size, size_t *position,
			      struct string_bytes *out, struct parse_error *error)
{
	uint64_t length;

	if (!read_uvarint(data, size, position, &length) || length > size - *position)
		return parse_error_set(error, -EBADMSG, "Go build info: inline string runs past its section");
	out->data = (const char *)data + *position;
	out->size = (size_t)length;
	*position += (size_t)length;
	return 0;
}

/* Read a Go string header at address, then its bytes, into arena memory. */
static int read_pointed_string(struct go_buildinfo *info, uint64_t address, bool big_endian,
			       go_memory_read read_memory, void *context,
			       struct string_bytes *out, struct parse_error *error)
{
	unsigned char header[16];
	unsigned size = info->pointer_size;
	int result = read_memory(context, address, header, (size_t)2 * size);

	if (result < 0)
		return parse_error_set(error, result, "Go build info: string header at 0x%llx is not in the file",
				       (unsigned long long)address);
	uint64_t data_address = load_pointer(header, size, big_endian);
	uint64_t length = load_pointer(header + size, size, big_endian);
	if (length > GO_BUILDINFO_MAX_STRING)
		return parse_error_set(error, -EBADMSG, "Go build info: string of %llu bytes is too long",
				       (unsigned long long)length);
	char *bytes = arena_alloc(&info->arena, (size_t)length + 1);
	if (!bytes)
		return parse_error_set(error, -ENOMEM, "out of memory");
	result = read_memory(context, data_address, bytes, (size_t)length);
	if (result < 0)
		return parse_error_set(error, result, "Go build info: string at 0x%llx is not in the file",
				       (unsigned long long)data_address);
	out->data = bytes;
	out->size = (size_t)length;
	return 0;
}

static int read_strings(struct go_buildinfo *info, const unsigned char *data, size_t size,
			go_memory_read read_memory, void *context,
			struct string_bytes *version, struct string_bytes *modinfo,
			struct parse_error *error)
{
	unsigned char flags = data[15];
	bool big_endian = (flags & FLAG_BIG_ENDIAN) != 0;
	size_t position = GO_BUILDINFO_HEADER_SIZE;
	int result;

	info->pointer_size = data[14];
	info->inline_format = (flags & FLAG_INLINE_STRINGS) != 0;
	if (info->inline_format) {
		result = read_inline_string(data, size, &position, version, error);
		if (result == 0)
			result = read_inline_string(data, size, &position, modinfo, error);
		return result;
	}
	if (info->pointer_size != 4 && info->pointer_size != 8)
		return parse_error_set(error, -EBADMSG, "Go build info: pointer size %u", info->pointer_size);
	if (!read_memory)
		return parse_error_set(error, -ENODATA, "Go build info: pointer format needs the program's memory");
	uint64_t version_address = load_pointer(data + 16, info->pointer_size, big_endian);
	uint64_t modinfo_address = load_pointer(data + 16 + info->pointer_size, info->pointer_size,
						big_endian);
	result = read_pointed_string(info, version_address, big_endian, read_memory, context,
				     version, error);
	if (result == 0)
		result = read_pointed_string(info, modinfo_address, big_endian, read_memory,
					     context, modinfo, error);
	return result;
}

/* Undo strconv.Quote for the escapes Go's build settings use. */
static size_t unquote(const char *text, size_t length, char *out)
{
	size_t written = 0;

	if (length < 2 || text[0] != '"' || text[length - 1] != '"') {
		memcpy(out, text, length);
		return length;
	}
	for (size_t i = 1; i + 1 < length; i++) {
		char c = text[i];

		if (c == '\\' && i + 2 < length) {
			char escaped = text[++i];

			if (escaped == 'n')
				c = '\n';
			else if (escaped == 't')
				c = '\t';
			else if (escaped == 'r')
				c = '\r';
			else
				c = escaped;
		}
		out[written++] = c;
	}
	return written;
}

/* The field-th tab-separated field of line (0-based), or an empty one. */
static struct string_bytes line_field(const char *line, size_t length, unsigned field)
{
	struct string_bytes out = {line, 0};
	size_t start = 0;

	for (unsigned index = 0; start <= length; index++) {
		const char *tab = memchr(line + start, '\t', length - start);
		size_t end = tab ? (size_t)(tab - line) : length;

		if (index == field) {
			out.data = line + start;
			out.size = end - start;
			return out;
		}
		if (!tab)
			break;
		start = end + 1;
	}
	return out;
}

static const char *field_copy(struct go_buildinfo *info, const char *line, size_t length,
			      unsigned field)
{
	struct string_bytes value = line_field(line, length, field);

	return arena_strndup(&info->arena, value.data, value.size);
}

static int add_setting(struct go_buildinfo *info, const char *text, size_t length,
		       size_t *capacity)
{
	const char *equals = memchr(text, '=', length);
	size_t key_length = equals ? (size_t)(equals - text) : length;
	const char *value = equals ? equals + 1 : text + length;
	size_t value_length = length - key_length - (equals ? 1 : 0);

	struct go_setting *settings = arena_array_reserve(&info->arena, info->settings,
							  info->setting_count, capacity,
							  info->setting_count + 1, 16,
							  sizeof(*settings));

	if (!settings)
		return -ENOMEM;
	info->settings = settings;
	char *unquoted = arena_alloc(&info->arena, value_length + 1);
	const char *key = arena_strndup(&info->arena, text, key_length);
	if (!unquoted || !key)
		return -ENOMEM;
	unquoted[unquote(value, value_length, unquoted)] = '\0';
	info->settings[info->setting_count].key = key;
	info->settings[info->setting_count].value = unquoted;
	info->setting_count++;
	return 0;
}

static int parse_line(struct go_buildinfo *info, const char *line, size_t length,
		      size_t *capacity)
{
	struct string_bytes kind = line_field(line, length, 0);
	size_t rest_length = kind.size < length ? length - kind.size - 1 : 0;
	const char *rest = rest_length > 0 ? kind.data + kind.size + 1 : line + length;

	if (kind.size == 4 && memcmp(kind.data, "path", 4) == 0) {
		info->main_package = field_copy(info, line, length, 1);
		return info->main_package ? 0 : -ENOMEM;
	}
	if (kind.size == 3 && memcmp(kind.data, "mod", 3) == 0) {
		info->module_path = field_copy(info, line, length, 1);
		info->module_version = field_copy(info, line, length, 2);
		info->module_sum = field_copy(info, line, length, 3);
		return info->module_path && info->module_version && info->module_sum ? 0 : -ENOMEM;
	}
	if (kind.size == 3 && memcmp(kind.data, "dep", 3) == 0)
		info->dependency_count++;
	if (kind.size == 5 && memcmp(kind.data, "build", 5) == 0)
		return add_setting(info, rest, rest_length, capacity);
	return 0;
}

static int parse_modinfo(struct go_buildinfo *info, struct string_bytes modinfo)
{
	size_t capacity = 0;

	if (modinfo.size >= 2 * SENTINEL_SIZE + 1 &&
	    modinfo.data[modinfo.size - SENTINEL_SIZE - 1] == '\n') {
		modinfo.data += SENTINEL_SIZE;
		modinfo.size -= (size_t)2 * SENTINEL_SIZE;
	}
	info->modinfo = arena_strndup(&info->arena, modinfo.data, modinfo.size);
	if (!info->modinfo)
		return -ENOMEM;
	for (size_t start = 0; start < modinfo.size;) {
		const char *newline = memchr(modinfo.data + start, '\n', modinfo.size - start);
		size_t end = newline ? (size_t)(newline - modinfo.data) : modinfo.size;
		int result = parse_line(info, modinfo.data + start, end - start, &capacity);

		if (result < 0)
			return result;
		start = end + 1;
	}
	return 0;
}

int go_buildinfo_parse(const unsigned char *data, size_t size, go_memory_read read_memory,
		       void *context, struct go_buildinfo **out, struct parse_error *error)
{
	struct string_bytes version = {"", 0};
	struct string_bytes modinfo = {"", 0};
	struct go_buildinfo *info;
	int result;

	*out = NULL;
	if (size < GO_BUILDINFO_HEADER_SIZE ||
	    memcmp(data, GO_BUILDINFO_MAGIC, GO_BUILDINFO_MAGIC_SIZE) != 0)
		return parse_error_set(error, -ENOEXEC, "no Go build info magic");
	info = calloc(1, sizeof(*info));
	if (!info)
		return parse_error_set(error, -ENOMEM, "out of memory");
	arena_init(&info->arena, (size_t)4 * GO_BUILDINFO_MAX_STRING);
	info->main_package = info->module_path = info->module_version = info->module_sum = "";
	result = read_strings(info, data, size, read_memory, context, &version, &modinfo, error);
	if (result == 0) {
		info->go_version = arena_strndup(&info->arena, version.data, version.size);
		result = info->go_version ? parse_modinfo(info, modinfo) : -ENOMEM;
		if (result < 0)
			parse_error_set(error, result, "out of memory");
	}
	if (result < 0) {
		go_buildinfo_free(info);
		return result;
	}
	*out = info;
	return 0;
}

void go_buildinfo_free(struct go_buildinfo *info)
{
	if (!info)
		return;
	arena_release(&info->arena);
	free(info);
}

const char *go_buildinfo_setting(const struct go_buildinfo *info, const char *key)
{
	for (size_t i = 0; info && i < info->setting_count; i++) {
		if (strcmp(info->settings[i].key, key) == 0)
			return info->settings[i].value;
	}
	return NULL;
}
