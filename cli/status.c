/*
 * status.c - `rmmhunt status`: what the agent last said about itself.
 *
 * The agent rewrites STATE_DIR/status.json every few seconds (atomically, by
 * rename); this command reads it, says whether the agent that wrote it is
 * still running, and prints its counters.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "commands.h"

#define DEFAULT_STATE_DIR "/var/lib/rmmhunt"

static void status_usage(FILE *out)
{
	fprintf(out, "usage: rmmhunt status [--state-dir DIR] [--json]\n"
		     "  --state-dir DIR  the agent's state directory (default %s)\n"
		     "  --json           print the agent's status object as is\n",
		DEFAULT_STATE_DIR);
}

static void print_object(json_t *object, int depth)
{
	const char *key;
	json_t *member;

	json_object_foreach(object, key, member) {
		if (json_is_object(member)) {
			printf("%*s%s:\n", depth * 2, "", key);
			print_object(member, depth + 1);
			continue;
		}
		char *text = json_dumps(member, JSON_ENCODE_ANY | JSON_COMPACT);
		printf("%*s%-28s %s\n", depth * 2, "", key, text ? text : "?");
		free(text);
	}
}

/* Every loss counter that is not 0, on one line: what to look at first. */
static void print_losses(json_t *status)
{
	json_t *losses = json_object_get(status, "losses");
	const char *name;
	json_t *count;
	int shown = 0;

	if (!json_is_object(losses))
		return;
	json_object_foreach(losses, name, count) {
		if (json_integer_value(count) == 0)
			continue;
		printf("%s %s %lld", shown++ ? "," : "LOSSES:", name,
		       (long long)json_integer_value(count));
	}
	printf(shown ? " (docs/operations.md: when events are lost)\n" : "losses: none\n");
}

/* Where the agent ships, and how that goes. */
static void print_shipping(json_t *status)
{
	json_t *outbox = json_object_get(status, "outbox");
	const char *error = json_string_value(json_object_get(outbox, "last_error"));

	if (!json_is_true(json_object_get(outbox, "shipping"))) {
		printf("shipping: off (no --collector)\n");
		return;
	}
	printf("shipping: to %s, %s; waiting %lld records, %lld hits\n",
	       json_string_value(json_object_get(outbox, "collector")),
	       json_string_value(json_object_get(outbox, "state")),
	       (long long)json_integer_value(json_object_get(outbox, "records")),
	       (long long)json_integer_value(json_object_get(outbox, "hits")));
	if (error && *error)
		printf("shipping: last error: %s\n", error);
}

int command_status(int argc, char **argv)
{
	static const struct option options[] = {
		{"state-dir", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *state_dir = DEFAULT_STATE_DIR;
	bool as_json = false;
	char path[4096];
	json_error_t error;
	int option;

	while ((option = getopt_long(argc, argv, "s:jh", options, NULL)) != -1) {
		switch (option) {
		case 's':
			state_dir = optarg;
			break;
		case 'j':
			as_json = true;
			break;
		case 'h':
			status_usage(stdout);
			return 0;
		default:
			status_usage(stderr);
			return 2;
		}
	}
	snprintf(path, sizeof(path), "%s/status.json", state_dir);
	json_t *status = json_load_file(path, 0, &error);
	if (!status) {
		log_error("cannot read %s: %s", path,
			  error.text);
		return 1;
	}
	json_int_t pid = json_integer_value(json_object_get(status, "pid"));
	bool running = pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
	if (as_json) {
		json_object_set_new(status, "running", json_boolean(running));
		char *text = json_dumps(status, JSON_COMPACT);
		printf("%s\n", text ? text : "{}");
		free(text);
	} else {
		printf("agent: %s (pid %lld), status written %s\n",
		       running ? "running" : "NOT running", (long long)pid,
		       json_string_value(json_object_get(status, "written")));
		print_losses(status);
		print_shipping(status);
		print_object(status, 0);
	}
	json_decref(status);
	return running ? 0 : 1;
}
