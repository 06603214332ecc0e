/*
 * ship_options.c - the shipping options of rmmhunt-agent (see
 * ship_options.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "http_client.h"
#include "ship_options.h"

const char *const ship_option_names[SHIP_OPTION_COUNT] = {
	[SHIP_OPTION_COLLECTOR] = "collector",
	[SHIP_OPTION_ENROLL_SECRET_FILE] = "enroll-secret-file",
	[SHIP_OPTION_CA_FILE] = "ca-file",
	[SHIP_OPTION_CLIENT_CERT] = "client-cert",
	[SHIP_OPTION_CLIENT_KEY] = "client-key",
	[SHIP_OPTION_SHIP] = "ship",
	[SHIP_OPTION_HEARTBEAT_INTERVAL] = "heartbeat-interval",
	[SHIP_OPTION_RECONNECT_SPREAD] = "reconnect-spread",
};

const char ship_options_usage[] =
	"  --collector URL        ship to this collector (https://HOST:PORT); repeat it\n"
	"                         for collectors to fail over to, in order\n"
	"  --enroll-secret-file F the fleet's enrollment secret (first line of F)\n"
	"  --ca-file F            trust these CAs for the collector (default: the system's)\n"
	"  --client-cert F        a client certificate (mutual TLS) instead of enrolling\n"
	"  --client-key F         its private key\n"
	"  --ship all|hits        all records (default), or only the records a rule hit;\n"
	"                         hits, rule summaries and heartbeats go either way\n"
	"  --heartbeat-interval SEC  heartbeat period (default 60)\n"
	"  --reconnect-spread SEC after an outage, wait a random 0..SEC before sending\n"
	"                         the backlog (default 30)\n";

void ship_options_defaults(struct ship_options *options)
{
	memset(options, 0, sizeof(*options));
	options->heartbeat_interval_seconds = SHIP_DEFAULT_HEARTBEAT_SECONDS;
	options->reconnect_spread_seconds = SHIP_DEFAULT_RECONNECT_SPREAD_SECONDS;
}

static int parse_seconds(enum ship_option which, const char *text, long minimum, long maximum,
			 uint32_t *out)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno || end == text || *end || value < minimum || value > maximum) {
		log_error("--%s wants a number of seconds from %ld to %ld, not '%s'",
			  ship_option_names[which], minimum, maximum, text);
		return -EINVAL;
	}
	*out = (uint32_t)value;
	return 0;
}

static int add_collector(struct ship_options *options, const char *url)
{
	char reason[160];

	if (options->collector_count == SHIP_MAX_COLLECTORS) {
		log_error("--collector: at most %d collectors", SHIP_MAX_COLLECTORS);
		return -EINVAL;
	}
	if (http_check_collector_url(url, reason, sizeof(reason)) != 0) {
		log_error("--collector %s: %s", url, reason);
		return -EINVAL;
	}
	options->collectors[options->collector_count++] = url;
	return 0;
}

int ship_option_set(struct ship_options *options, enum ship_option which, const char *text)
{
	switch (which) {
	case SHIP_OPTION_COLLECTOR:
		return add_collector(options, text);
	case SHIP_OPTION_ENROLL_SECRET_FILE:
		options->enroll_secret_file = text;
		return 0;
	case SHIP_OPTION_CA_FILE:
		options->ca_file = text;
		return 0;
	case SHIP_OPTION_CLIENT_CERT:
		options->client_certificate = text;
		return 0;
	case SHIP_OPTION_CLIENT_KEY:
		options->client_key = text;
		return 0;
	case SHIP_OPTION_SHIP:
		if (strcmp(text, "all") != 0 && strcmp(text, "hits") != 0) {
			log_error("--ship wants 'all' or 'hits', not '%s'", text);
			return -EINVAL;
		}
		options->hits_only = strcmp(text, "hits") == 0;
		return 0;
	case SHIP_OPTION_HEARTBEAT_INTERVAL:
		return parse_seconds(which, text, 1, 3600, &options->heartbeat_interval_seconds);
	case SHIP_OPTION_RECONNECT_SPREAD:
		return parse_seconds(which, text, 0, 3600, &options->reconnect_spread_seconds);
	case SHIP_OPTION_COUNT:
		break;
	}
	return -EINVAL;
}

static int check_readable(const char *option, const char *path)
{
	if (path && access(path, R_OK) != 0) {
		log_error("--%s %s: %s", option, path, strerror(errno));
		return -EINVAL;
	}
	return 0;
}

int ship_options_check(const struct ship_options *options)
{
	if (options->collector_count == 0) {
		if (options->enroll_secret_file || options->ca_file ||
		    options->client_certificate || options->client_key) {
			log_error("--enroll-secret-file, --ca-file and --client-cert/key need "
				  "--collector URL");
			return -EINVAL;
		}
		return 0;
	}
	if (!options->client_certificate != !options->client_key) {
		log_error("--client-cert and --client-key go together");
		return -EINVAL;
	}
	/* the secret may be gone later (re-enrollment is then impossible), the
	 * trust anchors and the certificate must be there now */
	if (check_readable("ca-file", options->ca_file) ||
	    check_readable("client-cert", options->client_certificate) ||
	    check_readable("client-key", options->client_key))
		return -EINVAL;
	return 0;
}
