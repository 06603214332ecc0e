/*
 * cache_schema.c - the SQL tables of the cache, derived from the record
 * schema so they can never drift apart.
 */
#include <pthread.h>

#include "store/cache_layout.h"
#include "store/cache_schema.h"

const struct column_def cache_hit_columns[CACHE_HIT_COLUMN_COUNT] = {
	{"RuleId", VALUE_STRING},
	{"RuleName", VALUE_STRING},
	{"Tactics", VALUE_STRING},
	{"Techniques", VALUE_STRING},
};

static struct column_def hits_columns[CACHE_HIT_COLUMN_COUNT + DPE_COLUMN_COUNT];
static struct table_schema hits_schema;
static pthread_once_t hits_schema_once = PTHREAD_ONCE_INIT;

static void fill_hits_schema(void)
{
	for (int i = 0; i < CACHE_HIT_COLUMN_COUNT; i++)
		hits_columns[i] = cache_hit_columns[i];
	for (int i = 0; i < DPE_COLUMN_COUNT; i++)
		hits_columns[CACHE_HIT_COLUMN_COUNT + i] = dpe_columns[i];
	hits_schema.name = CACHE_HITS_TABLE;
	hits_schema.column_count = CACHE_HIT_COLUMN_COUNT + DPE_COLUMN_COUNT;
	hits_schema.columns = hits_columns;
}

const struct table_schema *cache_hits_schema(void)
{
	pthread_once(&hits_schema_once, fill_hits_schema);
	return &hits_schema;
}

static const char *sql_type(enum value_type type)
{
	return type == VALUE_STRING ? "TEXT NOT NULL DEFAULT ''" : "INTEGER";
}

void cache_schema_append_columns(struct strbuf *out, const struct column_def *columns,
				 size_t count)
{
	for (size_t i = 0; i < count; i++)
		strbuf_appendf(out, ",\n  \"%s\" %s", columns[i].name, sql_type(columns[i].type));
}

static void append_record_columns(struct strbuf *out)
{
	cache_schema_append_columns(out, dpe_columns, DPE_COLUMN_COUNT);
}

void cache_schema_sql(struct strbuf *out)
{
	cache_layout_schema_sql(out);
	strbuf_appendf(out, "CREATE TABLE IF NOT EXISTS %s (\n  HitId INTEGER PRIMARY KEY",
		       CACHE_HITS_TABLE);
	cache_schema_append_columns(out, cache_hit_columns, CACHE_HIT_COLUMN_COUNT);
	append_record_columns(out);
	strbuf_append_string(out, ");\n");
	strbuf_appendf(out,
		       "CREATE INDEX IF NOT EXISTS %s_time ON %s(Timestamp);\n",
		       CACHE_HITS_TABLE, CACHE_HITS_TABLE);
	/* was this record hit? (size retention keeps hit records longest) */
	strbuf_appendf(out,
		       "CREATE INDEX IF NOT EXISTS %s_report ON %s(ReportId);\n",
		       CACHE_HITS_TABLE, CACHE_HITS_TABLE);
	strbuf_append_string(out,
			     "CREATE TABLE IF NOT EXISTS RuleSummaries (\n"
			     "  RuleId TEXT PRIMARY KEY, RuleName TEXT NOT NULL,\n"
			     "  UpdatedTicks INTEGER NOT NULL, SummaryJson TEXT NOT NULL,\n"
			     "  " CACHE_SUMMARY_ADDED_COLUMNS ");\n"
			     "CREATE TABLE IF NOT EXISTS CacheMeta (\n"
			     "  Key TEXT PRIMARY KEY, Value INTEGER NOT NULL);\n");
}
