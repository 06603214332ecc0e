/*
 * rulefile.c - Sentinel YAML rule files through libyaml.
 *
 * The document is walked as events: only a top-level mapping is accepted;
 * scalar values are kept for the fields we use, sequences of scalars (a
 * rule's tactics may be a list) are joined with commas, anything else is
 * skipped whole.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "base/array.h"
#include "rules/rulefile.h"
#include "base/strbuf.h"

static void set_error(struct rule_file_error *error, unsigned line,
		      unsigned column, const char *message)
{
	error->line = line;
	error->column = column;
	snprintf(error->message, sizeof(error->message), "%s", message);
}

const char *rule_file_error_text(const struct rule_file_error *error, const char *path,
				 char *out, size_t size)
{
	if (error->line)
		snprintf(out, size, "%s:%u:%u: %s", path, error->line, error->column,
			 error->message);
	else
		snprintf(out, size, "%s: %s", path, error->message);
	return out;
}

/* The field a key names, or NULL for keys we do not keep. */
static char **field_for_key(struct rule_file *rule, const char *key)
{
	if (strcmp(key, "id") == 0)
		return &rule->id;
	if (strcmp(key, "name") == 0)
		return &rule->name;
	if (strcmp(key, "description") == 0)
		return &rule->description;
	if (strcmp(key, "tactics") == 0)
		return &rule->tactics;
	if (strcmp(key, "relevantTechniques") == 0)
		return &rule->techniques;
	if (strcmp(key, "query") == 0)
		return &rule->query;
	return NULL;
}

/* Skip the rest of a collection whose start event was just read. */
static int skip_collection(yaml_parser_t *parser)
{
	int depth = 1;

	while (depth > 0) {
		yaml_event_t event;

		if (!yaml_parser_parse(parser, &event))
			return -EINVAL;
		if (event.type == YAML_SEQUENCE_START_EVENT ||
		    event.type == YAML_MAPPING_START_EVENT)
			depth++;
		else if (event.type == YAML_SEQUENCE_END_EVENT ||
			 event.type == YAML_MAPPING_END_EVENT)
			depth--;
		else if (event.type == YAML_STREAM_END_EVENT)
			depth = 0;
		yaml_event_delete(&event);
	}
	return 0;
}

/* A sequence of scalars, joined by ", " (nested collections skipped). */
static int read_sequence(yaml_parser_t *parser, char **out)
{
	struct strbuf joined;

	strbuf_init(&joined);
	for (;;) {
		yaml_event_t event;

		if (!yaml_parser_parse(parser, &event)) {
			strbuf_free(&joined);
			return -EINVAL;
		}
		if (event.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&event);
			break;
		}
		if (event.type == YAML_SCALAR_EVENT) {
			if (joined.length)
				strbuf_append_string(&joined, ", ");
			strbuf_append(&joined, (const char *)event.data.scalar.value,
				      event.data.scalar.length);
		} else if (event.type == YAML_SEQUENCE_START_EVENT ||
			   event.type == YAML_MAPPING_START_EVENT) {
			if (skip_collection(parser)) {
				yaml_event_delete(&event);
				strbuf_free(&joined);
				return -EINVAL;
			}
		}
		yaml_event_delete(&event);
	}
	free(*out);
	*out = joined.data ? joined.data : strdup("");
	return *out ? 0 : -ENOMEM;
}

/*
 * Where the query's text starts in the file: for a block scalar ("query: |")
 * the first non-empty line after the indicator, at its indentation; for a
 * plain or quoted scalar, the scalar's own position.
 */
static void locate_query(struct rule_file *rule, const char *text, size_t length,
			 const yaml_mark_t *start, yaml_scalar_style_t style)
{
	size_t position = start->index;
	unsigned line = (unsigned)start->line + 1;

	rule->query_line = line;
	rule->query_column = (unsigned)start->column + 1;
	if (style != YAML_LITERAL_SCALAR_STYLE && style != YAML_FOLDED_SCALAR_STYLE) {
		if (style != YAML_PLAIN_SCALAR_STYLE)
			rule->query_column++; /* past the quote */
		return;
	}
	while (position < length) {
		size_t indent = 0, end;

		/* to the next line break, as YAML counts them (\n, \r\n, \r) */
		while (position < length && text[position] != '\n' && text[position] != '\r')
			position++;
		if (position >= length)
			return;
		if (text[position] == '\r' && position + 1 < length && text[position + 1] == '\n')
			position++;
		position++;
		line++;
		while (position + indent < length && text[position + indent] == ' ')
			indent++;
		end = position + indent;
		if (end < length && text[end] != '\n' && text[end] != '\r') {
			rule->query_line = line;
			rule->query_column = (unsigned)indent + 1;
			return;
		}
	}
}

static int read_value(yaml_parser_t *parser, struct rule_file *rule,
		      const char *key, const char *text, size_t length)
{
	char **field = field_for_key(rule, key);
	yaml_event_t event;
	int result = 0;

	if (!yaml_parser_parse(parser, &event))
		return -EINVAL;
	if (event.type == YAML_SCALAR_EVENT) {
		if (field) {
			free(*field);
			*field = strndup((const char *)event.data.scalar.value,
					 event.data.scalar.length);
			result = *field ? 0 : -ENOMEM;
			if (field == &rule->query && *field) {
				rule->query_length = event.data.scalar.length;
				locate_query(rule, text, length, &event.start_mark,
					     event.data.scalar.style);
			}
		}
	} else if (event.type == YAML_SEQUENCE_START_EVENT) {
		result = field && field != &rule->query ? read_sequence(parser, field)
							: skip_collection(parser);
	} else if (event.type == YAML_MAPPING_START_EVENT) {
		result = skip_collection(parser);
	}
	yaml_event_delete(&event);
	return result;
}

static int walk_document(yaml_parser_t *parser, struct rule_file *rule,
			 const char *text, size_t length)
{
	bool in_mapping = false;

	for (;;) {
		yaml_event_t event;
		int result = 0;

		if (!yaml_parser_parse(parser, &event))
			return -EINVAL;
		switch (event.type) {
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&event);
			return in_mapping ? 0 : -ENODATA;
		case YAML_MAPPING_START_EVENT:
			if (in_mapping)
				result = skip_collection(parser);
			in_mapping = true;
			break;
		case YAML_SCALAR_EVENT:
			if (in_mapping) {
				char *key = strndup((const char *)event.data.scalar.value,
						    event.data.scalar.length);

				result = key ? read_value(parser, rule, key, text, length)
					     : -ENOMEM;
				free(key);
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
			result = skip_collection(parser);
			break;
		default:
			break;
		}
		yaml_event_delete(&event);
		if (result)
			return result;
	}
}

static int check_fields(const struct rule_file *rule, struct rule_file_error *error)
{
	if (!rule->query || !rule->query[0]) {
		set_error(error, 0, 0, "the rule has no query");
		return -EINVAL;
	}
	if (!rule->id || !rule->id[0]) {
		set_error(error, 0, 0, "the rule has no id");
		return -EINVAL;
	}
	return 0;
}

static int fill_defaults(struct rule_file *rule)
{
	char **fields[] = {&rule->name, &rule->description, &rule->tactics,
			   &rule->techniques};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!*fields[i])
			*fields[i] = strdup("");
		if (!*fields[i])
			return -ENOMEM;
	}
	return 0;
}

int rule_file_parse(const char *text, size_t length, const char *origin,
		    struct rule_file *rule, struct rule_file_error *error)
{
	yaml_parser_t parser;
	int result;

	memset(rule, 0, sizeof(*rule));
	memset(error, 0, sizeof(*error));
	rule->path = strdup(origin ? origin : "rule");
	if (!rule->path || !yaml_parser_initialize(&parser)) {
		free(rule->path);
		rule->path = NULL;
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
	result = walk_document(&parser, rule, text, length);
	if (result == -EINVAL)
		set_error(error, (unsigned)parser.problem_mark.line + 1,
			  (unsigned)parser.problem_mark.column + 1,
			  parser.problem ? parser.problem : "not valid YAML");
	else if (result == -ENODATA)
		set_error(error, 1, 1, "not a rule: the document is not a YAML mapping");
	yaml_parser_delete(&parser);
	if (result == 0)
		result = check_fields(rule, error);
	if (result == 0)
		result = fill_defaults(rule);
	if (result == -ENODATA)
		result = -EINVAL;
	if (result)
		rule_file_free(rule);
	return result;
}

int rule_file_load(const char *path, struct rule_file *rule,
		   struct rule_file_error *error)
{
	struct strbuf text;
	int result;

	memset(rule, 0, sizeof(*rule));
	memset(error, 0, sizeof(*error));
	strbuf_init(&text);
	result = strbuf_read_file(&text, path, RULEFILE_MAX_BYTES);
	if (result != 0) {
		set_error(error, 0, 0, result == -EFBIG ? "file too large" : strerror(-result));
		strbuf_free(&text);
		return result;
	}
	result = rule_file_parse(strbuf_text(&text), text.length, path, rule, error);
	strbuf_free(&text);
	return result;
}

void rule_file_free(struct rule_file *rule)
{
	free(rule->path);
	free(rule->id);
	free(rule->name);
	free(rule->description);
	free(rule->tactics);
	free(rule->techniques);
	free(rule->query);
	memset(rule, 0, sizeof(*rule));
}

static bool is_rule_name(const char *name)
{
	size_t length = strlen(name);

	return name[0] != '.' &&
	       ((length > 5 && strcmp(name + length - 5, ".yaml") == 0) ||
		(length > 4 && strcmp(name + length - 4, ".yml") == 0));
}

static int compare_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.yaml and *.yml files of directory, sorted, into *out. */
static int list_directory(const char *path, char ***out)
{
	struct dirent *entry;
	char **paths = calloc(1, sizeof(*paths));
	size_t count = 0, capacity = 1;
	DIR *directory;
	int result = 0;

	if (!paths)
		return -ENOMEM;
	directory = opendir(path);
	if (!directory) {
		result = -errno;
		free(paths);
		return result;
	}
	errno = 0;
	while (result == 0 && (entry = readdir(directory))) {
		char **grown;

		if (!is_rule_name(entry->d_name))
			continue;
		grown = array_reserve(paths, &capacity, count + 2, 16, sizeof(*paths));
		if (!grown) {
			result = -ENOMEM;
			break;
		}
		paths = grown;
		if (asprintf(&paths[count], "%s/%s", path, entry->d_name) < 0) {
			result = -ENOMEM;
			break;
		}
		paths[++count] = NULL;
	}
	if (result == 0 && errno != 0) /* readdir failed */
		result = -errno;
	closedir(directory);
	if (result != 0) {
		paths[count] = NULL;
		rule_file_list_free(paths);
		return result;
	}
	qsort(paths, count, sizeof(*paths), compare_paths);
	*out = paths;
	return 0;
}

int rule_file_list(const char *path, char ***paths)
{
	struct stat status;
	char **single;

	*paths = NULL;
	if (stat(path, &status) != 0)
		return -errno;
	if (S_ISDIR(status.st_mode))
		return list_directory(path, paths);
	single = calloc(2, sizeof(*single));
	if (!single)
		return -ENOMEM;
	single[0] = strdup(path);
	if (!single[0]) {
		free(single);
		return -ENOMEM;
	}
	*paths = single;
	return 0;
}

void rule_file_list_free(char **paths)
{
	if (!paths)
		return;
	for (char **path = paths; *path; path++)
		free(*path);
	free(paths);
}
