/*
 * options.h - the agent's configuration, from its config file
 * (--config, /etc/rmmhunt/agent.conf in the packaged unit) and its command
 * line; a flag overrides the file (lib/base/config_options.h).
 */
#ifndef RMMHUNT_AGENT_OPTIONS_H
#define RMMHUNT_AGENT_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/config_file.h"
#include "base/log.h"
#include "ship/ship_options.h"

#define AGENT_MAX_WINE_LOADERS 8

struct agent_options {
	const char *config_path; /* --config: NULL when none was read */
	bool check_config; /* --check-config: validate, then exit */
	struct config_file config_file; /* its entries, which values point into */
	const char *state_dir;
	const char *rules_dir; /* --rules: the bundled rules */
	/* --local-rules: rules of the host (/etc/rmmhunt/rules.d); one with a
	 * bundled rule's id replaces it */
	const char *local_rules_dir;
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
	const char *wine_loaders[AGENT_MAX_WINE_LOADERS]; /* --wine-loader: trusted besides dpkg's */
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

/* Parse argv and the file --config names.  Returns 0 to run, 1 when
 * --help was printed, or -EINVAL after logging the problem (with the
 * file, line and key for a problem in the file). */
int agent_options_parse(struct agent_options *options, int argc, char **argv);
void agent_options_free(struct agent_options *options);

#endif
