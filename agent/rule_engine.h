/*
 * rule_engine.h - the hunting rules, run on every record the agent makes.
 *
 * Rules are Sentinel YAML files (rules/), compiled once by the KQL engine.
 * Every record goes through each rule's row filters; a match is a hit,
 * stored in the cache (RuleHits) and written as NDJSON (--hits): the rule's
 * id, name, tactics and techniques, then the record's 68 columns.  Each
 * rule's own summarize is kept incrementally (kql_aggregator), so the table
 * the query would return on this device is known at any moment; it is
 * published to the cache (RuleSummaries) every second while it may change.
 *
 * Loading reports every rule that fails to compile or reads a table the
 * sensor does not fill (file, line, column, reason) and runs the others.
 * A reload (SIGHUP) builds the new set first and swaps it in only whole.
 */
#ifndef RMMHUNT_AGENT_RULE_ENGINE_H
#define RMMHUNT_AGENT_RULE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "store/cache.h"
#include "model/record.h"
#include "base/strbuf.h"

struct rule_engine;

struct rule_engine_stats {
	uint32_t loaded, skipped, without_summary;
	uint32_t overridden; /* rules replaced by a later path's of the same id */
	uint64_t records, hits, evaluation_errors;
};

/* rules_paths: directories or files, in order; a rule of a later one
 * replaces the rule of the same id of an earlier one (the bundled rules,
 * then /etc/rmmhunt/rules.d).  The paths are copied. */
int rule_engine_create(struct rule_engine **out, const char *const *rules_paths,
		       size_t rules_path_count, struct cache *cache);
void rule_engine_destroy(struct rule_engine *engine);

/*
 * (Re)load every rule.  A rule that cannot run is skipped and logged (a
 * warning each, file, line, column, reason); the others run.  Returns 0, or
 * a negative errno when a path's rules cannot be listed (logged; the rules
 * loaded before, if any, stay).
 */
int rule_engine_load(struct rule_engine *engine);

/* Match one record at now; hits go to the cache and to hit_lines. */
void rule_engine_match(struct rule_engine *engine, const struct record *record,
		       int64_t now, struct strbuf *hit_lines);

/* Write the summaries that may have changed into the cache. */
void rule_engine_publish(struct rule_engine *engine, int64_t now);

void rule_engine_read_stats(const struct rule_engine *engine,
			    struct rule_engine_stats *stats);

/* Per rule: id, name, hits (for status.json): calls visit for each. */
void rule_engine_each_rule(const struct rule_engine *engine,
			   void (*visit)(void *context, const char *id,
					 const char *name, uint64_t hits),
			   void *context);

#endif
