/*
 * config_options.c - config file and command line through one table
 * (config_options.h).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/config_file.h"
#include "base/config_options.h"
#include "base/log.h"

static bool listed(const int *ids, int id)
{
	for (; ids && *ids; ids++)
		if (*ids == id)
			return true;
	return false;
}

static const struct option *find_key(const struct config_options *spec, const char *key)
{
	for (const struct option *option = spec->table; option->name; option++)
		if (strcmp(option->name, key) == 0 && !listed(spec->not_keys, option->val))
			return option;
	return NULL;
}

/* Edit distance, bounded: enough to say "did you mean". */
static size_t distance(const char *a, const char *b)
{
	size_t row[CONFIG_KEY_MAX + 2];
	size_t length_a = strlen(a), length_b = strlen(b);

	if (length_a > CONFIG_KEY_MAX || length_b > CONFIG_KEY_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= length_b; j++)
		row[j] = j;
	for (size_t i = 1; i <= length_a; i++) {
		size_t diagonal = row[0];

		row[0] = i;
		for (size_t j = 1; j <= length_b; j++) {
			size_t above = row[j];
			size_t best = diagonal + (a[i - 1] != b[j - 1]);

			if (above + 1 < best)
				best = above + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diagonal = above;
		}
	}
	return row[length_b];
}

static const char *closest_key(const struct config_options *spec, const char *key)
{
	const char *best = NULL;
	size_t best_distance = 3; /* farther is no suggestion */

	for (const struct option *option = spec->table; option->name; option++) {
		size_t d = distance(key, option->name);

		if (d < best_distance && !listed(spec->not_keys, option->val)) {
			best = option->name;
			best_distance = d;
		}
	}
	return best;
}

static int unknown_key(const struct config_options *spec, const char *path,
		       const struct config_entry *entry)
{
	const char *suggestion = closest_key(spec, entry->key);

	if (suggestion)
		log_error("%s:%u: unknown key '%s' (did you mean '%s'?)", path, entry->line,
			  entry->key, suggestion);
	else
		log_error("%s:%u: unknown key '%s'", path, entry->line, entry->key);
	return -EINVAL;
}

/* An earlier entry with the same key, or NULL. */
static const struct config_entry *earlier(const struct config_file *file, size_t index)
{
	for (size_t i = 0; i < index; i++)
		if (strcmp(file->entries[i].key, file->entries[index].key) == 0)
			return &file->entries[i];
	return NULL;
}

static int apply_entry(const struct config_options *spec, const char *path,
		       const struct config_file *file, size_t index)
{
	const struct config_entry *entry = &file->entries[index];
	const struct option *option = find_key(spec, entry->key);
	const struct config_entry *first;
	int result;

	if (!option)
		return unknown_key(spec, path, entry);
	first = earlier(file, index);
	if (first && !listed(spec->repeatable, option->val)) {
		log_error("%s:%u: key '%s' is already set on line %u", path, entry->line,
			  entry->key, first->line);
		return -EINVAL;
	}
	if (option->has_arg == no_argument) {
		if (strcmp(entry->value, "no") == 0 || strcmp(entry->value, "false") == 0)
			return 0;
		if (strcmp(entry->value, "yes") != 0 && strcmp(entry->value, "true") != 0) {
			log_error("%s:%u: key '%s': '%s' is not yes or no", path, entry->line,
				  entry->key, entry->value);
			return -EINVAL;
		}
		result = spec->apply(spec->context, option->val, NULL, CONFIG_ORIGIN_FILE);
	} else if (entry->value[0] == '\0') {
		log_error("%s:%u: key '%s' has no value", path, entry->line, entry->key);
		return -EINVAL;
	} else {
		result = spec->apply(spec->context, option->val, entry->value, CONFIG_ORIGIN_FILE);
	}
	if (result < 0)
		log_error("%s:%u: key '%s': invalid value '%s'", path, entry->line, entry->key,
			  entry->value);
	return result;
}

static int apply_file(const struct config_options *spec, const char *path,
		      struct config_file *loaded)
{
	struct config_error error;
	int result = config_file_load(path, loaded, &error);

	if (result) {
		if (error.line)
			log_error("%s:%u: %s", path, error.line, error.message);
		else
			log_error("%s: %s", path, error.message);
		return result;
	}
	for (size_t i = 0; i < loaded->count && result == 0; i++)
		result = apply_entry(spec, path, loaded, i);
	return result;
}

/* Pass 1: the last --config, without a word about other options. */
static const char *find_config(const struct config_options *spec, int argc, char **argv)
{
	const char *path = NULL;
	int saved = opterr, id;

	opterr = 0;
	optind = 0;
	while ((id = getopt_long(argc, argv, spec->short_options, spec->table, NULL)) != -1)
		if (id == spec->config_id)
			path = optarg;
	opterr = saved;
	return path;
}

int config_options_parse(const struct config_options *spec, int argc, char **argv,
			 struct config_file *file, const char **config_path)
{
	const char *path = find_config(spec, argc, argv);
	int id, result = 0;

	memset(file, 0, sizeof(*file));
	*config_path = path;
	if (path) {
		result = apply_file(spec, path, file);
		if (result)
			return result;
	}
	optind = 0;
	while ((id = getopt_long(argc, argv, spec->short_options, spec->table, NULL)) != -1) {
		if (id == spec->config_id)
			continue;
		result = spec->apply(spec->context, id, optarg, CONFIG_ORIGIN_COMMAND_LINE);
		if (result)
			return result;
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}
