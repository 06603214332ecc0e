/*
 * options.h - the collector's command line.
 *
 *   rmmhunt-collector --listen HOST:PORT --db PATH --tls-cert F --tls-key F
 *       --enroll-secret-file F --analyst-token-file F [--client-ca F]
 *       [--insecure-http] [limits, retention, threads, --log-level L]
 *   rmmhunt-collector devices list|revoke|allow [DEVICEID] --db PATH
 */
#ifndef RMMHUNT_COLLECTOR_OPTIONS_H
#define RMMHUNT_COLLECTOR_OPTIONS_H

#include <stdio.h>

#include "base/log.h"
#include "api.h"
#include "server.h"
#include "store.h"

struct collector_options {
	struct server_options server;
	struct api_limits limits;
	struct store_options store;
	const char *db;
	const char *enroll_secret_file, *analyst_token_file;
	const char *port_file; /* written with the bound port once serving */
	unsigned retention_interval; /* seconds between retention rounds */
	enum log_level log_level;
};

/* 0 parsed, 1 --help shown (exit 0), 2 usage error (said on stderr). */
int options_parse(int argc, char **argv, struct collector_options *options);
void options_usage(FILE *out);

/* "64M", "1G", "4096" -> bytes; "30d", "12h", "90m", "45s" -> ticks.  -EINVAL. */
int options_parse_size(const char *text, long long *bytes);
int options_parse_duration(const char *text, long long *ticks);

#endif
