/*
 * pathname.c - normalise absolute paths lexically.
 */
#include <stdlib.h>
#include <string.h>

#include "base/pathname.h"
#include "base/strbuf.h"

/* Append one component to an absolute path being built, handling "." and "..". */
static void push_component(struct strbuf *out, const char *component,
			   size_t length)
{
	if (length == 0 || (length == 1 && component[0] == '.'))
		return;
	if (length == 2 && component[0] == '.' && component[1] == '.') {
		while (out->length > 0 && out->data[out->length - 1] != '/')
			out->length--;
		if (out->length > 0)
			out->length--; /* the slash before it */
		if (out->data)
			out->data[out->length] = '\0';
		return;
	}
	strbuf_append_char(out, '/');
	strbuf_append(out, component, length);
}

static void push_path(struct strbuf *out, const char *path)
{
	while (*path) {
		size_t length = strcspn(path, "/");

		push_component(out, path, length);
		path += length;
		while (*path == '/')
			path++;
	}
}

char *pathname_absolute(const char *cwd, const char *path)
{
	struct strbuf out;

	strbuf_init(&out);
	if (path[0] != '/')
		push_path(&out, cwd);
	push_path(&out, path);
	if (out.length == 0)
		strbuf_append_char(&out, '/');
	if (out.failed) {
		strbuf_free(&out);
		return NULL;
	}
	return out.data;
}
