/*
 * main.c - the rmmhunt command: dispatch to a subcommand.
 *
 *   rmmhunt query [--state-dir DIR] [--format F] 'KQL' | -f FILE
 *   rmmhunt query --collector URL --token-file F [--ca-file F] 'KQL' | -f FILE
 *   rmmhunt devices --collector URL --token-file F [--ca-file F] [--format F]
 *   rmmhunt inspect [--json] FILE...
 *   rmmhunt rules check PATH...
 *   rmmhunt status [--state-dir DIR]
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *program; /* in front of its diagnostics */
	const char *summary;
};

static const struct command commands[] = {
	{"query", command_query, "rmmhunt query",
	 "run a KQL query over the local cache or the fleet"},
	{"devices", command_devices, "rmmhunt devices", "list the fleet's devices and their health"},
	{"status", command_status, "rmmhunt status", "show the agent's state and counters"},
	{"rules", command_rules, "rmmhunt rules",
	 "check rule files; test a rule on recorded records"},
	{"inspect", command_inspect, "rmmhunt inspect",
	 "show what the sensor derives from executable files"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: rmmhunt COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'rmmhunt COMMAND --help' shows a command's options.\n");
}

int main(int argc, char **argv)
{
	log_configure("rmmhunt", LOG_LEVEL_INFO);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			log_set_program(commands[i].program);
			return commands[i].run(argc - 1, argv + 1);
		}
	}
	log_error("unknown command '%s'", argv[1]);
	usage(stderr);
	return 2;
}
