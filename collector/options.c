/*
 * options.c - the collector's options: its config file and command line
 * through one table (options.h, lib/base/config_options.h).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/config_options.h"
#include "options.h"
#include "wire/wire.h"

enum option_id {
	OPTION_LISTEN = 256,
	OPTION_DB,
	OPTION_TLS_CERT,
	OPTION_TLS_KEY,
	OPTION_CLIENT_CA,
	OPTION_ENROLL_SECRET_FILE,
	OPTION_ANALYST_TOKEN_FILE,
	OPTION_INSECURE_HTTP,
	OPTION_MAX_BODY,
	OPTION_MAX_DECOMPRESSED,
	OPTION_MAX_CONNECTIONS,
	OPTION_IDLE_TIMEOUT,
	OPTION_REQUEST_TIMEOUT,
	OPTION_RETENTION_MAX_AGE,
	OPTION_RETENTION_MAX_SIZE,
	OPTION_HITS_MAX_AGE,
	OPTION_RETENTION_INTERVAL,
	OPTION_HTTP_THREADS,
	OPTION_WORKERS,
	OPTION_QUERY_WORKERS,
	OPTION_PORT_FILE,
	OPTION_LOG_LEVEL,
	OPTION_HELP,
	OPTION_CONFIG,
	OPTION_CHECK_CONFIG,
};

void options_usage(FILE *out)
{
	fprintf(out,
		"usage: rmmhunt-collector --listen HOST:PORT --db PATH|URI --tls-cert F --tls-key F\n"
		"           --enroll-secret-file F --analyst-token-file F [--client-ca F] [OPTIONS]\n"
		"       rmmhunt-collector devices list|revoke|allow [DEVICEID] --db PATH|URI\n"
		"\n"
		"Takes authenticated batches from rmmhunt agents over HTTPS (TLS 1.2+) and\n"
		"answers fleet-wide KQL (docs/fleet.md, docs/operations.md).\n"
		"\n"
		"  --config FILE               read options from FILE (key = value; a flag\n"
		"                              overrides it); the packaged unit reads\n"
		"                              /etc/rmmhunt/collector.conf\n"
		"  --check-config              check the options and the config file, then exit\n"
		"  --listen HOST:PORT          address to serve on ([::1]:PORT for IPv6)\n"
		"  --db PATH|URI               the store: a SQLite file (created 0600), or\n"
		"                              postgresql://... shared by several collectors\n"
		"  --tls-cert F, --tls-key F   the server's certificate and key (PEM)\n"
		"  --client-ca F               accept agents with a client certificate of this CA\n"
		"                              (its CN or a DNS name is the DeviceId)\n"
		"  --enroll-secret-file F      the fleet's enrollment secret (first line)\n"
		"  --analyst-token-file F      analysts' tokens, one per line, # comments\n"
		"  --insecure-http             plain HTTP, only on a loopback address (tests)\n"
		"  --max-body BYTES            largest body as sent (default 4M)\n"
		"  --max-decompressed BYTES    largest batch after gunzip (default 64M)\n"
		"  --max-connections N         more get 503 with Retry-After (default 256)\n"
		"  --idle-timeout SECONDS      close idle connections (default 30)\n"
		"  --request-timeout SECONDS   cut a request that trickles in or out (default 60)\n"
		"  --retention-max-age D       records older than D go (default 30d)\n"
		"  --retention-max-size BYTES  records beyond this size go, oldest first (64G)\n"
		"  --hits-max-age D            hits and summaries older than D go (default 365d)\n"
		"  --retention-interval SECONDS  between retention rounds (default 60)\n"
		"  --http-threads N            threads moving bytes (default 2)\n"
		"  --workers N                 threads storing batches (default 2)\n"
		"  --query-workers N           threads answering queries (default 2)\n"
		"  --port-file F               write the port served on (with port 0)\n"
		"  --log-level LEVEL           error, warning, notice, info (default), debug\n"
		"\n"
		"Signals: SIGHUP reads the secret and token files again; SIGTERM/SIGINT stop\n"
		"after answering the requests in flight.\n");
}

int options_parse_size(const char *text, long long *bytes)
{
	char *end;
	long long number;
	int shift = 0;

	errno = 0;
	number = strtoll(text, &end, 10);
	if (errno || end == text || number < 0)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] != '\0' && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0)
		return -EINVAL;
	if (number > (LLONG_MAX >> shift))
		return -EINVAL;
	*bytes = number << shift;
	return 0;
}

int options_parse_duration(const char *text, long long *ticks)
{
	char *end;
	long long number, unit;

	errno = 0;
	number = strtoll(text, &end, 10);
	if (errno || end == text || number < 0)
		return -EINVAL;
	if (strcmp(end, "d") == 0)
		unit = TICKS_PER_DAY;
	else if (strcmp(end, "h") == 0)
		unit = TICKS_PER_HOUR;
	else if (strcmp(end, "m") == 0)
		unit = TICKS_PER_MINUTE;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		unit = TICKS_PER_SECOND;
	else
		return -EINVAL;
	if (number > LLONG_MAX / unit)
		return -EINVAL;
	*ticks = number * unit;
	return 0;
}

static int bad(const char *option, const char *value, const char *wanted)
{
	log_error("%s %s: expected %s", option, value, wanted);
	return 2;
}

static int positive(const char *option, const char *value, int *out, int maximum)
{
	char *end;
	long number = strtol(value, &end, 10);

	if (*end || end == value || number < 1 || number > maximum)
		return bad(option, value, "a positive number");
	*out = (int)number;
	return 0;
}

static void set_defaults(struct collector_options *options)
{
	memset(options, 0, sizeof(*options));
	store_default_options(&options->store);
	options->limits.max_body = WIRE_DEFAULT_MAX_BODY;
	options->limits.max_decompressed = WIRE_DEFAULT_MAX_DECOMPRESSED;
	options->limits.retry_after_seconds = 5;
	options->server.max_connections = 256;
	options->server.idle_timeout = 30;
	options->server.request_timeout = 60;
	options->server.http_threads = 2;
	options->server.write_workers = 2;
	options->server.read_workers = 2;
	options->retention_interval = 60;
	options->log_level = LOG_LEVEL_INFO;
}

static int take_size(const char *option, const char *value, long long minimum, long long *out)
{
	if (options_parse_size(value, out) != 0 || *out < minimum)
		return bad(option, value, "a size such as 4096, 512K, 64M or 2G");
	return 0;
}

static int take_duration(const char *option, const char *value, long long *out)
{
	if (options_parse_duration(value, out) != 0 || *out <= 0)
		return bad(option, value, "a duration such as 3600s, 90m, 12h or 30d");
	return 0;
}

static int take(void *context, int id, const char *value, enum config_origin origin)
{
	struct collector_options *options = context;
	long long number = 0;
	int seconds = 0, status = 0;

	(void)origin; /* no option repeats */
	switch (id) {
	case OPTION_LISTEN: options->server.listen = value; break;
	case OPTION_DB: options->db = value; break;
	case OPTION_TLS_CERT: options->server.tls_cert = value; break;
	case OPTION_TLS_KEY: options->server.tls_key = value; break;
	case OPTION_CLIENT_CA: options->server.client_ca = value; break;
	case OPTION_ENROLL_SECRET_FILE: options->enroll_secret_file = value; break;
	case OPTION_ANALYST_TOKEN_FILE: options->analyst_token_file = value; break;
	case OPTION_INSECURE_HTTP: options->server.insecure_http = true; break;
	case OPTION_PORT_FILE: options->port_file = value; break;
	case OPTION_MAX_BODY:
		status = take_size("--max-body", value, 1024, &number);
		options->limits.max_body = (size_t)number;
		break;
	case OPTION_MAX_DECOMPRESSED:
		status = take_size("--max-decompressed", value, 1024, &number);
		options->limits.max_decompressed = (size_t)number;
		break;
	case OPTION_RETENTION_MAX_SIZE:
		status = take_size("--retention-max-size", value, 0, &number);
		options->store.max_bytes = number;
		break;
	case OPTION_RETENTION_MAX_AGE:
		status = take_duration("--retention-max-age", value, &number);
		options->store.max_age_ticks = number;
		break;
	case OPTION_HITS_MAX_AGE:
		status = take_duration("--hits-max-age", value, &number);
		options->store.hits_max_age_ticks = number;
		break;
	case OPTION_MAX_CONNECTIONS:
		status = positive("--max-connections", value, &options->server.max_connections, 100000);
		break;
	case OPTION_IDLE_TIMEOUT:
		status = positive("--idle-timeout", value, &seconds, 86400);
		options->server.idle_timeout = (unsigned)seconds;
		break;
	case OPTION_REQUEST_TIMEOUT:
		status = positive("--request-timeout", value, &seconds, 86400);
		options->server.request_timeout = (unsigned)seconds;
		break;
	case OPTION_RETENTION_INTERVAL:
		status = positive("--retention-interval", value, &seconds, 86400);
		options->retention_interval = (unsigned)seconds;
		break;
	case OPTION_HTTP_THREADS:
		status = positive("--http-threads", value, &options->server.http_threads, 64);
		break;
	case OPTION_WORKERS:
		status = positive("--workers", value, &options->server.write_workers, 64);
		break;
	case OPTION_QUERY_WORKERS:
		status = positive("--query-workers", value, &options->server.read_workers, 64);
		break;
	case OPTION_LOG_LEVEL:
		if (log_level_parse(value, &options->log_level) != 0)
			status = bad("--log-level", value, "error, warning, notice, info or debug");
		break;
	case OPTION_CHECK_CONFIG:
		options->check_config = true;
		break;
	case OPTION_HELP:
	case 'h':
		options_usage(stdout);
		return 1;
	default: /* '?': getopt said what */
		options_usage(stderr);
		return -EINVAL;
	}
	return status ? -EINVAL : 0;
}

static int check_required(const struct collector_options *options)
{
	const char *missing = !options->server.listen		? "--listen HOST:PORT"
			      : !options->db			? "--db PATH"
			      : !options->enroll_secret_file	? "--enroll-secret-file F"
			      : !options->analyst_token_file	? "--analyst-token-file F"
			      : NULL;

	if (!missing)
		return 0;
	log_error("%s is required", missing);
	options_usage(stderr);
	return 2;
}

static const struct option option_table[] = {
	{"config", required_argument, NULL, OPTION_CONFIG},
	{"check-config", no_argument, NULL, OPTION_CHECK_CONFIG},
	{"listen", required_argument, NULL, OPTION_LISTEN},
	{"db", required_argument, NULL, OPTION_DB},
	{"tls-cert", required_argument, NULL, OPTION_TLS_CERT},
	{"tls-key", required_argument, NULL, OPTION_TLS_KEY},
	{"client-ca", required_argument, NULL, OPTION_CLIENT_CA},
	{"enroll-secret-file", required_argument, NULL, OPTION_ENROLL_SECRET_FILE},
	{"analyst-token-file", required_argument, NULL, OPTION_ANALYST_TOKEN_FILE},
	{"insecure-http", no_argument, NULL, OPTION_INSECURE_HTTP},
	{"max-body", required_argument, NULL, OPTION_MAX_BODY},
	{"max-decompressed", required_argument, NULL, OPTION_MAX_DECOMPRESSED},
	{"max-connections", required_argument, NULL, OPTION_MAX_CONNECTIONS},
	{"idle-timeout", required_argument, NULL, OPTION_IDLE_TIMEOUT},
	{"request-timeout", required_argument, NULL, OPTION_REQUEST_TIMEOUT},
	{"retention-max-age", required_argument, NULL, OPTION_RETENTION_MAX_AGE},
	{"retention-max-size", required_argument, NULL, OPTION_RETENTION_MAX_SIZE},
	{"hits-max-age", required_argument, NULL, OPTION_HITS_MAX_AGE},
	{"retention-interval", required_argument, NULL, OPTION_RETENTION_INTERVAL},
	{"http-threads", required_argument, NULL, OPTION_HTTP_THREADS},
	{"workers", required_argument, NULL, OPTION_WORKERS},
	{"query-workers", required_argument, NULL, OPTION_QUERY_WORKERS},
	{"port-file", required_argument, NULL, OPTION_PORT_FILE},
	{"log-level", required_argument, NULL, OPTION_LOG_LEVEL},
	{"help", no_argument, NULL, OPTION_HELP},
	{NULL, 0, NULL, 0},
};

int options_parse(int argc, char **argv, struct collector_options *options)
{
	static const int not_keys[] = {OPTION_CONFIG, OPTION_CHECK_CONFIG, OPTION_HELP, 0};
	const struct config_options spec = {
		.table = option_table,
		.short_options = "h",
		.config_id = OPTION_CONFIG,
		.not_keys = not_keys,
		.repeatable = NULL,
		.apply = take,
		.context = options,
	};
	int status;

	set_defaults(options);
	status = config_options_parse(&spec, argc, argv, &options->config_file,
				      &options->config_path);
	if (status)
		return status > 0 ? 1 : 2;
	return check_required(options);
}

void options_free(struct collector_options *options)
{
	config_file_free(&options->config_file);
}
