/*
 * record_builder.h - the 68 columns of one exec.
 *
 * Pure assembly: no I/O beyond the account-name cache.  Column by column
 * meaning is documented in docs/records.md; Linux facts without a Defender
 * column go into AdditionalFields (a JSON object written as a string).
 */
#ifndef RMMHUNT_AGENT_RECORD_BUILDER_H
#define RMMHUNT_AGENT_RECORD_BUILDER_H

#include <stdint.h>

#include "assembler.h"
#include "pending_exec.h"
#include "model/record.h"

/* Fill record (reset first).  0, or -ENOMEM. */
int record_builder_build(struct record *record,
			 const struct pending_exec *pending,
			 const struct assembler_context *context,
			 int64_t report_id);

#endif
