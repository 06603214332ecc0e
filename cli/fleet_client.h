/*
 * fleet_client.h - the CLI's side of the collector's analyst API
 * (docs/fleet.md): an HTTPS request with an analyst token, over libcurl.
 * `rmmhunt query --collector URL` and `rmmhunt devices` use it.
 */
#ifndef RMMHUNT_CLI_FLEET_CLIENT_H
#define RMMHUNT_CLI_FLEET_CLIENT_H

#include <stdbool.h>

#include <jansson.h>

struct fleet_client {
	const char *url;	/* https://collector:8443 (no trailing path) */
	const char *token_file; /* the analyst token: its first non-comment line */
	const char *ca_file;	/* CA bundle to verify the collector (NULL: system) */
};

/* The long options that name a collector, for getopt_long() tables. */
#define FLEET_CLIENT_OPTIONS                                                                \
	{"collector", required_argument, NULL, 'C'},                                        \
		{"token-file", required_argument, NULL, 'T'},                               \
		{"ca-file", required_argument, NULL, 'A'}

/* Takes option 'C', 'T' or 'A' into client: true, else false. */
bool fleet_client_option(struct fleet_client *client, int option, const char *value);

/*
 * Sends method path (body: a JSON object, or NULL for GET) and parses the
 * JSON answer into *answer.  Returns the HTTP status, or -1 when no answer
 * came (message says why, naming the URL).
 */
int fleet_request(const struct fleet_client *client, const char *method, const char *path,
		  json_t *body, json_t **answer, char *message, size_t message_size);

/* The message of an error answer ({"error": {"message": ...}}), or "". */
const char *fleet_error_message(json_t *answer);

#endif
