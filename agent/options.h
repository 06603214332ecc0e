/*
 * options.h - the agent's configuration, from its command line.
 */
#ifndef RMMHUNT_AGENT_OPTIONS_H
#define RMMHUNT_AGENT_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "ship/ship_options.h"

struct agent_options {
	const char *state_dir;
	const char *rules_dir;
	const char *events_path; /* NULL: no NDJSON stream */
	const char *hits_path; /* NULL: hits only in the cache */
	const char *btf_path;
	const char *machine_id_path;
	bool print; /* one line per exec on stdout */
	uint32_t ring_buffer_mib;
	uint32_t args_capture_max;
	int64_t max_hash_bytes;
	uint32_t hash_wait_ms; /* a row waits this long for hashes at most */
	uint32_t max_pending; /* rows waiting for hashes at once */
	uint32_t max_lineage_mib; /* paths and command lines kept for lineage */
	const char *wine_loaders[8]; /* --wine-loader: trusted besides dpkg's */
	uint32_t wine_loader_count;
	uint32_t max_processes;
	uint32_t max_cached_files;
	uint32_t stats_interval_seconds;
	bool bpf_run_stats;
	int64_t cache_max_age_ticks;
	int64_t cache_max_bytes;
	int64_t hits_max_age_ticks;
	enum log_level log_level; /* diagnostics less severe are not written */
	struct ship_options ship; /* --collector and friends (agent/ship/) */
};

/* Parse argv.  Returns 0 to run, 1 when --help was printed, or -EINVAL
 * after logging the problem. */
int agent_options_parse(struct agent_options *options, int argc, char **argv);

#endif
