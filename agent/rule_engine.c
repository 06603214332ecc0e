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
	char *rules_path;
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

int rule_engine_create(struct rule_engine **out, const char *rules_path,
		       struct cache *cache)
{
	struct rule_engine *engine = calloc(1, sizeof(*engine));

	if (!engine)
		return -ENOMEM;
	engine->rules_path = rules_path ? strdup(rules_path) : NULL;
	engine->cache = cache;
	*out = engine;
	return 0;
}

void rule_engine_destroy(struct rule_engine *engine)
{
	if (!engine)
		return;
	set_free(&engine->set);
	free(engine->rules_path);
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

int rule_engine_load(struct rule_engine *engine)
{
	struct rule_engine_stats stats = {0};
	struct rule_set fresh = {0};
	char **paths;
	size_t listed = 0;
	int result;

	if (!engine->rules_path)
		return 0;
	result = rule_file_list(engine->rules_path, &paths);
	if (result)
		return result;
	while (paths[listed])
		listed++;
	fresh.slots = calloc(listed ? listed : 1, sizeof(*fresh.slots));
	if (!fresh.slots) {
		rule_file_list_free(paths);
		return -ENOMEM;
	}
	for (size_t i = 0; i < listed; i++) {
		if (load_slot(&fresh.slots[fresh.count], paths[i], &stats))
			fresh.count++;
		else
			stats.skipped++;
	}
	rule_file_list_free(paths);
	stats.loaded = (uint32_t)fresh.count;
	/* counters of records and hits go on across reloads */
	stats.records = engine->stats.records;
	stats.hits = engine->stats.hits;
	stats.evaluation_errors = engine->stats.evaluation_errors;
	set_free(&engine->set);
	engine->set = fresh;
	engine->stats = stats;
	log_notice("%u rules loaded from %s, %u skipped", stats.loaded, engine->rules_path,
		   stats.skipped);
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
