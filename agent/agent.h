/*
 * agent.h - the parts of a running agent, wired together by main.c.
 */
#ifndef RMMHUNT_AGENT_AGENT_H
#define RMMHUNT_AGENT_AGENT_H

#include <stdint.h>

#include "accounts.h"
#include "assembler.h"
#include "boot_clock.h"
#include "store/cache.h"
#include "model/device.h"
#include "file_cache.h"
#include "options.h"
#include "outputs.h"
#include "process_table.h"
#include "rule_engine.h"
#include "model/reportid.h"
#include "sensor.h"
#include "ship/shipper.h"

struct agent {
	struct agent_options options;
	struct device_identity identity;
	struct boot_clock clock;
	struct report_ids report_ids;
	struct dpkg_index *dpkg;
	struct file_cache *files;
	struct process_table *processes;
	struct accounts *accounts;
	struct assembler *assembler;
	struct sensor *sensor;
	struct cache *cache;
	char cache_path[4096];
	uint64_t cache_retention_errors;
	/* the event loop: turns taken, of which sleeps past SENSOR_POLL_MS
	 * (main.c); file versions the probe could not be told of */
	uint64_t loop_turns, long_sleeps, known_files_errors;
	struct rule_engine *rules;
	struct ndjson_output events;
	bool events_open;
	struct ndjson_output hits;
	bool hits_open;
	struct console_output console;
	struct shipper *shipper; /* NULL without --collector */
	uint64_t started_boot_ns;
	uint64_t ticks; /* seconds of the maintenance timer */
	uint64_t retention_next_tick; /* when retention looks again */
};

/* Write STATE_DIR/status.json (atomically) and, when asked, a stats line on
 * the log (info).  Returns 0 or a negative errno. */
int agent_write_status(const struct agent *agent, bool print_line);

#endif
