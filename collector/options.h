/*
 * options.h - the collector's command line and config file
 * (/etc/rmmhunt/collector.conf in the packaged unit: key = value, a key
 * for every option).
 *
 *   rmmhunt-collector --listen HOST:PORT --db PATH --tls-cert F --tls-key F
 *       --enroll-secret-file F --analyst-token-file F [--client-ca F]
 *       [--insecure-http] [limits, retention, threads, --log-level L]
 *   rmmhunt-collector devices list|revoke|allow [DEVICEID] --db PATH
 */
#ifndef RMMHUNT_COLLECTOR_OPTIONS_H
#define RMMHUNT_COLLECTOR_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "base/config_file.h"
#include "base/log.h"
#include "api.h"
#include "server.h"
#include "store.h"

struct collector_options {
	const char *config_path; /* --config: NULL when none was read */
	bool check_config; /* --check-config: validate, then exit */
	struct config_file config_file; /* its entries, which values point into */
	struct server_options server;
	struct api_limits limits;
	struct store_options store;
	const char *db;
	const char *enroll_secret_file, *analyst_token_file;
	const char *port_file; /* written with the bound port once serving */
	unsigned retention_interval; /* seconds between retention rounds */
	enum log_level log_level;
};

/* Parse argv and the file --config names (a flag overrides the file).
 * 0 parsed, 1 --help shown (exit 0), 2 usage error or a bad file (said on
 * stderr, with the file, line and key). */
int options_parse(int argc, char **argv, struct collector_options *options);
void options_free(struct collector_options *options);
void options_usage(FILE *out);

/* "64M", "1G", "4096" -> bytes; "30d", "12h", "90m", "45s" -> ticks.  -EINVAL. */
int options_parse_size(const char *text, long long *bytes);
int options_parse_duration(const char *text, long long *ticks);

#endif
