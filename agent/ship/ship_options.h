/*
 * ship_options.h - how the agent ships to the fleet's collector.
 *
 * Without --collector the agent ships nothing and nothing changes.  The
 * options are parsed by agent/options.c (ship_option_set for each) and
 * checked together once at the end (ship_options_check).
 */
#ifndef RMMHUNT_AGENT_SHIP_OPTIONS_H
#define RMMHUNT_AGENT_SHIP_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#define SHIP_MAX_COLLECTORS 8
#define SHIP_DEFAULT_HEARTBEAT_SECONDS 60
#define SHIP_DEFAULT_RECONNECT_SPREAD_SECONDS 30

struct ship_options {
	const char *collectors[SHIP_MAX_COLLECTORS]; /* tried in order on failure */
	unsigned collector_count;
	const char *enroll_secret_file;
	const char *ca_file; /* NULL: the system's trust store */
	const char *client_certificate, *client_key; /* mutual TLS instead of a key */
	bool hits_only; /* --ship hits */
	uint32_t heartbeat_interval_seconds;
	uint32_t reconnect_spread_seconds;
};

/* The options' names, for the agent's option table and usage. */
enum ship_option {
	SHIP_OPTION_COLLECTOR,
	SHIP_OPTION_ENROLL_SECRET_FILE,
	SHIP_OPTION_CA_FILE,
	SHIP_OPTION_CLIENT_CERT,
	SHIP_OPTION_CLIENT_KEY,
	SHIP_OPTION_SHIP,
	SHIP_OPTION_HEARTBEAT_INTERVAL,
	SHIP_OPTION_RECONNECT_SPREAD,
	SHIP_OPTION_COUNT
};

extern const char *const ship_option_names[SHIP_OPTION_COUNT];
/* The options' lines of `rmmhunt-agent --help`. */
extern const char ship_options_usage[];

void ship_options_defaults(struct ship_options *options);
/* Apply one option; 0, or -EINVAL after logging the problem. */
int ship_option_set(struct ship_options *options, enum ship_option which, const char *text);
/* After parsing: the options make sense together; 0 or -EINVAL (logged). */
int ship_options_check(const struct ship_options *options);

#endif
