/*
 * rule_engine.c - rules loaded, matched per record, summaries published.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_writer.h"
#include "base/log.h"
#include "kql/kql_format.h"
#include "rule_engine.h"
#include "rules/rules.h"

#define AGGREGATOR_MAX_BYTES (16u << 20)

struct rule_slot {
	struct rule_file file;
	struct kql_query *query;
	struct kql_aggregator *aggregator; /* NULL: matching without summary */
	uint64_t hits;
	bool changed; /* a hit since the last publication */
	bool has_partials; /* rows in the window: the summary may age */
};

struct rule_set {
	struct rule_slot *slots;
	size_t count;
};

struct rule_engine {
	char **rules_paths; /* in order: a later path's rule replaces an earlier one's */
	size_t rules_path_count;
	struct cache *cache;
	struct rule_set set;
	struct rule_engine_stats stats;
};

static void slot_free(struct rule_slot *slot)
{
	kql_aggregator_free(slot->aggregator);
	kql_query_free(slot->query);
	rule_file_free(&slot->file);
}

static void set_free(struct rule_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		slot_free(&set->slots[i]);
	free(set->slots);
	set->slots = NULL;
	set->count = 0;
}

int rule_engine_create(struct rule_engine **out, const char *const *rules_paths,
		       size_t rules_path_count, struct cache *cache)
{
	struct rule_engine *engine = calloc(1, sizeof(*engine));

	if (!engine)
		return -ENOMEM;
	engine->cache = cache;
	*out = engine;
	if (rules_path_count == 0)
		return 0;
	engine->rules_paths = calloc(rules_path_count, sizeof(*engine->rules_paths));
	if (!engine->rules_paths)
		return -ENOMEM;
	for (size_t i = 0; i < rules_path_count; i++) {
		engine->rules_paths[i] = strdup(rules_paths[i]);
		if (!engine->rules_paths[i])
			return -ENOMEM;
		engine->rules_path_count++;
	}
	return 0;
}

void rule_engine_destroy(struct rule_engine *engine)
{
	if (!engine)
		return;
	set_free(&engine->set);
	for (size_t i = 0; i < engine->rules_path_count; i++)
		free(engine->rules_paths[i]);
	free(engine->rules_paths);
	free(engine);
}

/* A rule that will not run as written: why, with the caret under the spot. */
static void report(const char *what, const struct rule_file *rule,
		   const struct kql_error *error)
{
	char *text = rule_error_text(rule, error);

	log_lines(LOG_LEVEL_WARNING, "rule %s: %s", what, text ? text : error->message);
	free(text);
}

/* Load and compile one file into slot; false (reported) when it cannot run. */
static bool load_slot(struct rule_slot *slot, const char *path,
		      struct rule_engine_stats *stats)
{
	struct rule_file_error file_error;
	struct kql_error error;
	enum rule_outcome outcome;

	memset(slot, 0, sizeof(*slot));
	if (rule_file_load(path, &slot->file, &file_error) != 0) {
		char text[PATH_MAX + sizeof(file_error.message) + 32];

		log_warning("rule skipped: %s",
			    rule_file_error_text(&file_error, path, text, sizeof(text)));
		return false;
	}
	outcome = rule_compile(&slot->file, &slot->query, &error);
	if (outcome != RULE_OK) {
		report(outcome == RULE_UNSUPPORTED_TABLE ? "skipped (unsupported table)"
							 : "skipped",
		       &slot->file, &error);
		slot_free(slot);
		return false;
	}
	if (!kql_query_row_only(slot->query)) {
		log_warning("rule skipped: %s: it reads a table again (a subquery, join or "
			    "union), so it cannot run per record; rmmhunt query runs it over the "
			    "cache", path);
		slot_free(slot);
		return false;
	}
	if (kql_aggregator_new(slot->query, AGGREGATOR_MAX_BYTES, &slot->aggregator,
			       &error) != 0) {
		report("runs without a summary", &slot->file, &error);
		slot->aggregator = NULL;
		stats->without_summary++;
	}
	return true;
}

/* The slot already loaded with slot's rule id, or NULL. */
static struct rule_slot *same_id(struct rule_set *set, const struct rule_slot *slot)
{
	for (size_t i = 0; i < set->count; i++)
		if (strcmp(set->slots[i].file.id, slot->file.id) == 0)
			return &set->slots[i];
	return NULL;
}

/* Load every rule file of one path into fresh; a rule whose id is already
 * there (from an earlier path) replaces it. */
static int load_path(struct rule_set *fresh, size_t *capacity, const char *path,
		     struct rule_engine_stats *stats)
{
	char **paths;
	size_t listed = 0;
	int result = rule_file_list(path, &paths);

	if (result)
		return result;
	while (paths[listed])
		listed++;
	if (fresh->count + listed > *capacity) {
		size_t grown = fresh->count + listed;
		struct rule_slot *slots = realloc(fresh->slots, (grown ? grown : 1) * sizeof(*slots));

		if (!slots) {
			rule_file_list_free(paths);
			return -ENOMEM;
		}
		fresh->slots = slots;
		*capacity = grown;
	}
	for (size_t i = 0; i < listed; i++) {
		struct rule_slot *slot = &fresh->slots[fresh->count];
		struct rule_slot *replaced;

		if (!load_slot(slot, paths[i], stats)) {
			stats->skipped++;
			continue;
		}
		replaced = same_id(fresh, slot);
		if (replaced) {
			log_info("rule %s: %s replaces the one loaded before", slot->file.id,
				 paths[i]);
			slot_free(replaced);
			*replaced = *slot;
			stats->overridden++;
			continue;
		}
		fresh->count++;
	}
	rule_file_list_free(paths);
	return 0;
}

/* "12 rules loaded from A, B, 1 skipped[, 2 replaced by a later path's]" */
static void log_loaded(const struct rule_engine *engine)
{
	struct strbuf paths;

	if (engine->rules_path_count == 0)
		return;
	strbuf_init(&paths);
	for (size_t i = 0; i < engine->rules_path_count; i++)
		strbuf_appendf(&paths, "%s%s", i ? ", " : "", engine->rules_paths[i]);
	if (engine->stats.overridden)
		log_notice("%u rules loaded from %s, %u skipped, %u replaced by a later path's",
			   engine->stats.loaded, strbuf_text(&paths), engine->stats.skipped,
			   engine->stats.overridden);
	else
		log_notice("%u rules loaded from %s, %u skipped", engine->stats.loaded,
			   strbuf_text(&paths), engine->stats.skipped);
	strbuf_free(&paths);
}

int rule_engine_load(struct rule_engine *engine)
{
	struct rule_engine_stats stats = {0};
	struct rule_set fresh = {0};
	size_t capacity = 0;
	int result = 0;

	for (size_t i = 0; i < engine->rules_path_count && result == 0; i++) {
		result = load_path(&fresh, &capacity, engine->rules_paths[i], &stats);
		if (result)
			log_error("cannot read rules from %s: %s", engine->rules_paths[i],
				  strerror(-result));
	}
	if (result) {
		set_free(&fresh);
		return result;
	}
	stats.loaded = (uint32_t)fresh.count;
	/* counters of records and hits go on across reloads */
	stats.records = engine->stats.records;
	stats.hits = engine->stats.hits;
	stats.evaluation_errors = engine->stats.evaluation_errors;
	set_free(&engine->set);
	engine->set = fresh;
	engine->stats = stats;
	log_loaded(engine);
	return 0;
}

static void write_hit_line(const struct rule_slot *slot, const struct record *record,
			   struct strbuf *out)
{
	struct json_writer writer;

	json_writer_init(&writer, out);
	json_write_object_begin(&writer);
	json_write_key(&writer, "RuleId");
	json_write_cstring(&writer, slot->file.id);
	json_write_key(&writer, "RuleName");
	json_write_cstring(&writer, slot->file.name);
	json_write_key(&writer, "Tactics");
	json_write_cstring(&writer, slot->file.tactics);
	json_write_key(&writer, "Techniques");
	json_write_cstring(&writer, slot->file.techniques);
	record_write_json_members(record, &writer);
	json_write_object_end(&writer);
	strbuf_append_char(out, '\n');
}

void rule_engine_match(struct rule_engine *engine, const struct record *record,
		       int64_t now, struct strbuf *hit_lines)
{
	engine->stats.records++;
	for (size_t i = 0; i < engine->set.count; i++) {
		struct rule_slot *slot = &engine->set.slots[i];
		bool matched = false;
		int result;

		if (slot->aggregator) {
			result = kql_aggregator_add(slot->aggregator, record->values, now,
						    &matched);
		} else {
			result = kql_query_row_matches(slot->query, record->values, now);
			matched = result == 1;
		}
		if (result < 0) {
			engine->stats.evaluation_errors++;
			continue;
		}
		if (!matched)
			continue;
		slot->hits++;
		slot->changed = true;
		slot->has_partials = true;
		engine->stats.hits++;
		if (engine->cache)
			cache_add_hit(engine->cache, slot->file.id, slot->file.name,
				      slot->file.tactics, slot->file.techniques, record);
		if (hit_lines)
			write_hit_line(slot, record, hit_lines);
	}
}

/* The result table as a JSON array of row objects (malloc'd). */
static char *table_json(const struct kql_table *table)
{
	char *text = NULL;
	size_t size = 0;
	FILE *memory = open_memstream(&text, &size);
	struct strbuf array;
	char *line, *rest;

	if (!memory)
		return NULL;
	kql_table_print(memory, table, KQL_FORMAT_JSON, 0);
	fclose(memory);
	strbuf_init(&array);
	strbuf_append_char(&array, '[');
	for (line = strtok_r(text, "\n", &rest); line; line = strtok_r(NULL, "\n", &rest)) {
		if (array.length > 1)
			strbuf_append_char(&array, ',');
		strbuf_append_string(&array, line);
	}
	strbuf_append_char(&array, ']');
	free(text);
	if (array.failed) {
		strbuf_free(&array);
		return NULL;
	}
	return array.data;
}

/* The result's columns, [{"name": ..., "type": ...}] (malloc'd). */
static char *columns_json(const struct kql_table *table)
{
	struct strbuf text;
	struct json_writer writer;

	strbuf_init(&text);
	json_writer_init(&writer, &text);
	json_write_array_begin(&writer);
	for (size_t i = 0; i < kql_table_column_count(table); i++) {
		json_write_object_begin(&writer);
		json_write_key(&writer, "name");
		json_write_cstring(&writer, kql_table_column_name(table, i));
		json_write_key(&writer, "type");
		json_write_cstring(&writer, value_type_name(kql_table_column_type(table, i)));
		json_write_object_end(&writer);
	}
	json_write_array_end(&writer);
	if (text.failed) {
		strbuf_free(&text);
		return NULL;
	}
	return text.data;
}

void rule_engine_publish(struct rule_engine *engine, int64_t now)
{
	for (size_t i = 0; i < engine->set.count; i++) {
		struct rule_slot *slot = &engine->set.slots[i];
		struct kql_aggregator_stats stats;
		struct kql_table *table;
		struct kql_error error;
		char *json, *columns;

		/* a summary with rows in its window may lose them as time goes */
		if (!slot->aggregator || (!slot->changed && !slot->has_partials))
			continue;
		if (kql_aggregator_result(slot->aggregator, now, &table, &error) != 0) {
			engine->stats.evaluation_errors++;
			continue;
		}
		json = table_json(table);
		columns = columns_json(table);
		if (json && columns && engine->cache)
			cache_put_summary(engine->cache, slot->file.id, slot->file.name, json,
					  columns, now);
		free(json);
		free(columns);
		kql_table_free(table);
		kql_aggregator_stats(slot->aggregator, &stats);
		slot->has_partials = stats.partials > 0;
		slot->changed = false;
	}
}

void rule_engine_read_stats(const struct rule_engine *engine,
			    struct rule_engine_stats *stats)
{
	*stats = engine->stats;
}

void rule_engine_each_rule(const struct rule_engine *engine,
			   void (*visit)(void *context, const char *id,
					 const char *name, uint64_t hits),
			   void *context)
{
	for (size_t i = 0; i < engine->set.count; i++)
		visit(context, engine->set.slots[i].file.id, engine->set.slots[i].file.name,
		      engine->set.slots[i].hits);
}
