/*
 * devices.c - `rmmhunt devices`: the fleet's devices as the collector sees
 * them.
 *
 *   rmmhunt devices --collector URL --token-file F [--ca-file F]
 *                   [--format table|json|csv]
 *
 * One row per device, silent ones first (the longest silent first): last
 * contact, agent version, health (ok, losses, silent, revoked), since when
 * silent, the sum of its loss counters.  Printed by the KQL result
 * formatter, like `rmmhunt query`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "commands.h"
#include "fleet_client.h"
#include "kql/kql_format.h"

static const struct {
	const char *name, *type;
} columns[] = {
	{"DeviceId", "string"},	      {"DeviceName", "string"}, {"Health", "string"},
	{"LastContact", "datetime"}, {"SilentSince", "datetime"}, {"AgentVersion", "string"},
	{"Losses", "long"},	      {"Records", "long"},	{"OSVersion", "string"},
	{"LastError", "string"},
};
#define COLUMN_COUNT (sizeof(columns) / sizeof(columns[0]))

static void devices_usage(FILE *out)
{
	fprintf(out,
		"usage: rmmhunt devices --collector URL --token-file F [--ca-file F]\n"
		"                       [--format table|json|csv]\n"
		"\n"
		"Lists the fleet's devices: silent ones first (no heartbeat for 3 intervals),\n"
		"then by DeviceId, with last contact, agent version and health.\n"
		"\n"
		"exit status: 0 ok, 1 collector error, 2 usage error\n");
}

/* The answer's devices as a result table (the columns above). */
static int devices_table(json_t *answer, struct kql_table **table, char *message, size_t size)
{
	json_t *names = json_array(), *rows = json_array();
	json_t *device;
	size_t index;
	int result;

	for (size_t i = 0; i < COLUMN_COUNT; i++)
		json_array_append_new(names, json_pack("{s:s,s:s}", "name", columns[i].name, "type",
						      columns[i].type));
	json_array_foreach(json_object_get(answer, "devices"), index, device) {
		json_t *row = json_array();

		for (size_t i = 0; i < COLUMN_COUNT; i++) {
			json_t *value = json_object_get(device, columns[i].name);

			json_array_append(row, value ? value : json_null());
		}
		json_array_append_new(rows, row);
	}
	result = kql_table_from_json(names, rows, table, message, size);
	json_decref(names);
	json_decref(rows);
	return result;
}

int command_devices(int argc, char **argv)
{
	static const struct option options[] = {
		FLEET_CLIENT_OPTIONS,
		{"format", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct fleet_client fleet = {NULL, NULL, NULL};
	enum kql_format format = KQL_FORMAT_TABLE;
	struct kql_table *table = NULL;
	json_t *answer = NULL;
	char message[1024];
	int option, status;

	while ((option = getopt_long(argc, argv, "F:h", options, NULL)) != -1) {
		if (fleet_client_option(&fleet, option, optarg))
			continue;
		switch (option) {
		case 'F':
			if (kql_format_parse(optarg, &format) != 0) {
				log_error("unknown format '%s' (table, json or csv)", optarg);
				return 2;
			}
			break;
		case 'h':
			devices_usage(stdout);
			return 0;
		default:
			devices_usage(stderr);
			return 2;
		}
	}
	if (!fleet.url || !fleet.token_file || optind != argc) {
		log_error("--collector URL and --token-file F are needed");
		devices_usage(stderr);
		return 2;
	}
	status = fleet_request(&fleet, "GET", "/v1/devices", NULL, &answer, message,
			       sizeof(message));
	if (status != 200) {
		if (status < 0)
			log_error("%s", message);
		else
			log_error("%s answered %d: %s", fleet.url, status,
				fleet_error_message(answer));
		json_decref(answer);
		return 1;
	}
	status = devices_table(answer, &table, message, sizeof(message));
	json_decref(answer);
	if (status != 0) {
		log_error("%s sent a malformed list: %s", fleet.url, message);
		return 1;
	}
	status = kql_table_print(stdout, table, format, 0);
	kql_table_free(table);
	return status == 0 ? 0 : 1;
}
