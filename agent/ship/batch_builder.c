/*
 * batch_builder.c - reading the outbox into a batch (see batch_builder.h).
 */
#include <errno.h>
#include <string.h>

#include "batch_builder.h"

#define READ_CHUNK_ROWS 256

struct build {
	const struct batch_builder *builder;
	struct batch_writer *writer;
	struct batch_plan *plan;
	enum outbox_kind kind;
	int error; /* what stopped the visit, if not a full batch */
};

/* The batch holds as many rows as it may: it is full. */
static bool at_row_limit(struct build *build)
{
	if (!build->builder->row_limit || build->plan->rows < build->builder->row_limit)
		return false;
	build->plan->full = true;
	return true;
}

/* What a writer refused: 1 stops the visit (full), negative is an error. */
static int refused(struct build *build, int result, int64_t sequence)
{
	if (result == -ENOSPC) {
		build->plan->full = true;
		return 1;
	}
	if (result == -EFBIG) {
		build->plan->oversize_kind = build->kind;
		build->plan->oversize_sequence = sequence;
	}
	build->error = result;
	return result;
}

/* Numbers are dense: one missing before this row was removed unshipped. */
static void note_sequence(struct build *build, int64_t sequence)
{
	int64_t expected = build->plan->last[build->kind] + 1;

	if (sequence > expected && build->kind != OUTBOX_SUMMARIES)
		build->plan->gaps[build->kind] += (uint64_t)(sequence - expected);
}

/* A row taken (into the batch or skipped for good) moves the cursor. */
static void took(struct build *build, int64_t sequence, size_t lines)
{
	note_sequence(build, sequence);
	build->plan->last[build->kind] = sequence;
	build->plan->lines[build->kind] += lines;
	build->plan->line_count += lines;
	if (lines)
		build->plan->rows++;
}

static bool foreign_row(struct build *build, const struct cache_outbox_row *row)
{
	const struct value *device = &row->record.values[DPE_DEVICE_ID];

	if (strcmp(device->str, build->builder->device_id) == 0)
		return false;
	build->plan->foreign[build->kind]++;
	took(build, row->sequence, 0);
	return true;
}

static int visit_record(void *context, const struct cache_outbox_row *row)
{
	struct build *build = context;
	int result;

	if (at_row_limit(build))
		return 1;
	if (foreign_row(build, row))
		return 0;
	result = batch_writer_add_record(build->writer, &row->record);
	if (result)
		return refused(build, result, row->sequence);
	took(build, row->sequence, 1);
	return 0;
}

static int visit_hit(void *context, const struct cache_outbox_row *row)
{
	struct build *build = context;
	const struct batch_rule_text rule = {row->rule_id, row->rule_name, row->tactics,
					     row->techniques};
	int64_t report_id = row->record.values[DPE_REPORT_ID].l;
	int result;

	if (at_row_limit(build))
		return 1;
	if (foreign_row(build, row))
		return 0;
	/* the record before its hit: a hit cut off by a full batch leaves
	 * its record in (a duplicate later, harmless), never the reverse */
	if (build->builder->hits_only && report_id != build->plan->last_report_id) {
		result = batch_writer_add_record(build->writer, &row->record);
		if (result)
			return refused(build, result, row->sequence);
		build->plan->last_report_id = report_id;
		build->plan->lines[OUTBOX_RECORDS]++;
		build->plan->line_count++;
	}
	result = batch_writer_add_hit(build->writer, &rule, &row->record);
	if (result)
		return refused(build, result, row->sequence);
	took(build, row->sequence, 1);
	return 0;
}

static int visit_summary(void *context, const struct cache_outbox_row *row)
{
	struct build *build = context;
	const struct batch_rule_text rule = {row->rule_id, row->rule_name, "", ""};
	int result;

	if (at_row_limit(build))
		return 1;
	result = batch_writer_add_summary(build->writer, &rule, row->updated_ticks,
					  row->columns_json, row->rows_json);
	if (result == -EINVAL) {
		/* not what the cache writes: it can never go (counted) */
		build->plan->foreign[OUTBOX_SUMMARIES]++;
		took(build, row->sequence, 0);
		return 0;
	}
	if (result)
		return refused(build, result, row->sequence);
	took(build, row->sequence, 1);
	return 0;
}

/* One kind, chunk by chunk, until it is exhausted or the batch is full. */
static int build_kind(struct build *build, struct cache_outbox *outbox, enum outbox_kind kind,
		      cache_outbox_visit visit)
{
	static const enum cache_outbox_kind tables[OUTBOX_KINDS] = {
		CACHE_OUTBOX_RECORDS, CACHE_OUTBOX_HITS, CACHE_OUTBOX_SUMMARIES};

	build->kind = kind;
	while (!build->plan->full) {
		int64_t before = build->plan->last[kind];
		int result = cache_outbox_read(outbox, tables[kind], before, READ_CHUNK_ROWS, visit,
					       build);

		if (result)
			return result;
		if (build->error)
			return build->error;
		if (build->plan->last[kind] == before)
			break; /* nothing more after the cursor */
	}
	return 0;
}

int batch_build(const struct batch_builder *builder, struct cache_outbox *outbox,
		struct batch_writer *writer, const int64_t after[OUTBOX_KINDS], int64_t now_ticks,
		struct batch_plan *plan)
{
	char id[160];
	struct batch_header header = {id, builder->device_id, builder->device_name, now_ticks};
	struct build build = {builder, writer, plan, OUTBOX_HITS, 0};
	int result;

	memset(plan, 0, sizeof(*plan));
	plan->last_report_id = -1;
	for (int kind = 0; kind < OUTBOX_KINDS; kind++)
		plan->after[kind] = plan->last[kind] = after[kind];
	batch_writer_format_id(id, sizeof(id), builder->device_id, after[OUTBOX_RECORDS],
			       after[OUTBOX_HITS], after[OUTBOX_SUMMARIES]);
	result = batch_writer_begin(writer, &header);
	if (result == 0)
		result = build_kind(&build, outbox, OUTBOX_HITS, visit_hit);
	if (result == 0)
		result = build_kind(&build, outbox, OUTBOX_SUMMARIES, visit_summary);
	if (result == 0 && !builder->hits_only)
		result = build_kind(&build, outbox, OUTBOX_RECORDS, visit_record);
	return result;
}
