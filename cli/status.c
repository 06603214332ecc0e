/*
 * status.c - `rmmhunt status`: what the agent last said about itself.
 *
 * The agent rewrites STATE_DIR/status.json every few seconds (atomically, by
 * rename); this command reads it, says whether the agent that wrote it is
 * still running (and "STALLED" when it runs but its status is older than
 * three of its intervals: its loop is stuck), and prints its counters.
 * Exit status: 0 running, 1 not running, stalled or unreadable, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/text.h"
#include "commands.h"

#define DEFAULT_STATE_DIR "/var/lib/rmmhunt"

/* Seconds since the status file was written (0 when it cannot be told). */
static double status_age_seconds(const char *path)
{
	struct timespec now;
	struct stat file;

	if (stat(path, &file) != 0 || clock_gettime(CLOCK_REALTIME, &now) != 0)
		return 0.0;
	return (double)(now.tv_sec - file.st_mtim.tv_sec) +
	       (double)(now.tv_nsec - file.st_mtim.tv_nsec) / 1e9;
}

static void status_usage(FILE *out)
{
	fprintf(out, "usage: rmmhunt status [--state-dir DIR] [--json]\n"
		     "  --state-dir DIR  the agent's state directory (default %s)\n"
		     "  --json           print the agent's status object as is\n",
		DEFAULT_STATE_DIR);
}

/* Keys and values as the agent wrote them, escaped for the terminal
 * (base/text.h): a value may carry a file name or a collector's message. */
static void print_object(json_t *object, int depth, struct strbuf *key_text,
			 struct strbuf *value_text)
{
	const char *key;
	json_t *member;

	json_object_foreach(object, key, member) {
		if (json_is_object(member)) {
			printf("%*s%s:\n", depth * 2, "", text_display(key_text, key));
			print_object(member, depth + 1, key_text, value_text);
			continue;
		}
		char *text = json_dumps(member, JSON_ENCODE_ANY | JSON_COMPACT);
		printf("%*s%-28s %s\n", depth * 2, "", text_display(key_text, key),
		       text_display(value_text, text ? text : "?"));
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

/* Where the agent ships, and how that goes (the texts shown escaped). */
static void print_shipping(json_t *status, struct strbuf *first, struct strbuf *second)
{
	json_t *outbox = json_object_get(status, "outbox");
	const char *error = json_string_value(json_object_get(outbox, "last_error"));

	if (!json_is_true(json_object_get(outbox, "shipping"))) {
		printf("shipping: off (no --collector)\n");
		return;
	}
	printf("shipping: to %s, %s; waiting %lld records, %lld hits\n",
	       text_display(first, json_string_value(json_object_get(outbox, "collector"))),
	       text_display(second, json_string_value(json_object_get(outbox, "state"))),
	       (long long)json_integer_value(json_object_get(outbox, "records")),
	       (long long)json_integer_value(json_object_get(outbox, "hits")));
	if (error && *error)
		printf("shipping: last error: %s\n", text_display(first, error));
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
	double age = status_age_seconds(path);
	json_int_t interval = json_integer_value(json_object_get(status, "stats_interval_seconds"));
	/* alive but silent: its loop no longer runs (hung, stopped, starved) */
	bool stalled = running && interval > 0 && age > 3.0 * (double)interval;
	struct strbuf first, second;

	strbuf_init(&first);
	strbuf_init(&second);
	if (as_json) {
		json_object_set_new(status, "running", json_boolean(running));
		json_object_set_new(status, "stalled", json_boolean(stalled));
		json_object_set_new(status, "age_seconds", json_real(age));
		char *text = json_dumps(status, JSON_COMPACT);

		/* C1 and bidi controls as \uXXXX: the same JSON, safe to cat */
		if (text)
			text_append_safe(&first, text, strlen(text), TEXT_ESCAPE_JSON_TEXT);
		printf("%s\n", text ? strbuf_text(&first) : "{}");
		free(text);
	} else {
		printf("agent: %s (pid %lld), status written %s\n",
		       stalled ? "STALLED" : running ? "running" : "NOT running", (long long)pid,
		       text_display(&first, json_string_value(json_object_get(status, "written"))));
		if (stalled)
			printf("agent: its status is %.0f s old, it writes it every %lld s: the "
			       "agent runs but does not work\n",
			       age, (long long)interval);
		print_losses(status);
		print_shipping(status, &first, &second);
		print_object(status, 0, &first, &second);
	}
	strbuf_free(&first);
	strbuf_free(&second);
	json_decref(status);
	return running && !stalled ? 0 : 1;
}
