/*
 * exec_facts.c - copy a probe record out of the ring buffer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exec_facts.h"
#include "base/strbuf.h"

char *exec_path_from_components(const char *components, size_t length)
{
	const char *starts[EXEC_PATH_COMPONENTS_MAX];
	size_t count = 0, position = 0;
	struct strbuf path;

	while (position < length && count < EXEC_PATH_COMPONENTS_MAX) {
		const char *end = memchr(components + position, '\0',
					 length - position);
		if (!end)
			break;
		starts[count++] = components + position;
		position = (size_t)(end - components) + 1;
	}
	strbuf_init(&path);
	if (count == 0)
		strbuf_append_char(&path, '/');
	for (size_t i = count; i > 0; i--) {
		strbuf_append_char(&path, '/');
		strbuf_append_string(&path, starts[i - 1]);
	}
	if (path.failed) {
		strbuf_free(&path);
		return NULL;
	}
	return path.data;
}

/* A NUL-terminated copy of a string field of length bytes (with its NUL). */
static char *copy_string(const char *data, size_t length)
{
	size_t text_length = length ? strnlen(data, length) : 0;
	char *copy = malloc(text_length + 1);

	if (!copy)
		return NULL;
	memcpy(copy, data, text_length);
	copy[text_length] = '\0';
	return copy;
}

int exec_facts_decode(struct exec_facts *facts, const void *data, size_t size)
{
	const struct exec_event *event = data;
	const size_t fixed = offsetof(struct exec_event, data);
	const char *cursor;
	size_t strings;

	memset(facts, 0, sizeof(*facts));
	if (size < fixed)
		return -EINVAL;
	facts->header = event->header;
	facts->info = event->info;
	const struct exec_info *info = &facts->info;
	strings = (size_t)info->filename_len + info->interp_len +
		  info->exe_path_len + info->cwd_path_len + info->cgroup_name_len;
	if (fixed + strings + info->args_len > size)
		return -EINVAL;
	cursor = event->data;
	facts->filename = copy_string(cursor, info->filename_len);
	cursor += info->filename_len;
	facts->interp = copy_string(cursor, info->interp_len);
	cursor += info->interp_len;
	if (info->exe_path_len || !(info->flags & EXEC_FLAG_KERNEL_THREAD))
		facts->exe_path = exec_path_from_components(cursor, info->exe_path_len);
	else
		facts->exe_path = copy_string("", 0);
	cursor += info->exe_path_len;
	facts->cwd = exec_path_from_components(cursor, info->cwd_path_len);
	cursor += info->cwd_path_len;
	facts->cgroup_name = copy_string(cursor, info->cgroup_name_len);
	cursor += info->cgroup_name_len;
	facts->argv = malloc((size_t)info->args_len + 1);
	if (facts->argv) {
		memcpy(facts->argv, cursor, info->args_len);
		facts->argv[info->args_len] = '\0';
		facts->argv_length = info->args_len;
	}
	if (!facts->filename || !facts->interp || !facts->exe_path ||
	    !facts->cwd || !facts->cgroup_name || !facts->argv) {
		exec_facts_free(facts);
		return -ENOMEM;
	}
	return 0;
}

void exec_facts_free(struct exec_facts *facts)
{
	free(facts->filename);
	free(facts->interp);
	free(facts->exe_path);
	free(facts->cwd);
	free(facts->cgroup_name);
	free(facts->argv);
	memset(facts, 0, sizeof(*facts));
}
