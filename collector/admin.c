/*
 * admin.c - `rmmhunt-collector devices list|revoke|allow [DEVICEID] --db PATH`.
 *
 * An administrator's commands on the store file, next to a running
 * collector (SQLite lets both write; keys are looked up per request, so a
 * revocation bites at the device's next request, without a restart).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "device_info.h"
#include "kql/kql_format.h"
#include "store.h"

static void admin_usage(FILE *out)
{
	fprintf(out, "usage: rmmhunt-collector devices list --db PATH|URI\n"
		     "       rmmhunt-collector devices revoke DEVICEID --db PATH|URI\n"
		     "       rmmhunt-collector devices allow DEVICEID --db PATH|URI\n"
		     "\n"
		     "revoke: the device's key and certificate stop working at its next request;\n"
		     "it cannot enroll again.  allow: it may enroll again (its old key stays\n"
		     "void: the agent enrolls anew).\n");
}

static void print_time(const char *label, int64_t ticks)
{
	char text[KQL_DATETIME_TEXT];

	if (ticks)
		kql_datetime_format(ticks, text);
	printf("  %s %s", label, ticks ? text : "never");
}

static int list_devices(struct store *store)
{
	struct store_device *devices = NULL;
	size_t count = 0;
	int64_t now = timefmt_now_ticks();
	int result = store_list_devices(store, &devices, &count);

	if (result) {
		log_error("cannot list devices: %s", strerror(-result));
		return 1;
	}
	for (size_t i = 0; i < count; i++) {
		struct device_health health;
		json_t *heartbeat = json_loads(devices[i].heartbeat_json, 0, NULL);

		device_health_of(&devices[i], heartbeat, now, &health);
		printf("%s  %-7s  %s", devices[i].device_id, health.health,
		       devices[i].device_name[0] ? devices[i].device_name : "-");
		print_time("last contact", devices[i].last_contact);
		printf("\n");
		json_decref(heartbeat);
	}
	store_free_devices(devices, count);
	return 0;
}

static int set_revoked(struct store *store, const char *device_id, bool revoked)
{
	int result = store_set_revoked(store, device_id, revoked, timefmt_now_ticks());

	if (result == -ENOENT) {
		log_error("no device %s in the store", device_id);
		return 1;
	}
	if (result) {
		log_error("cannot %s %s: %s", revoked ? "revoke" : "allow", device_id,
			  strerror(-result));
		return 1;
	}
	printf("%s %s\n", device_id, revoked ? "revoked" : "allowed (it may enroll again)");
	return 0;
}

int admin_devices(int argc, char **argv)
{
	static const struct option options[] = {
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct store_options store_options;
	struct store *store = NULL;
	const char *db = NULL, *verb, *device_id = NULL;
	char message[512];
	int option, status;

	while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (option == 'd') {
			db = optarg;
		} else if (option == 'h') {
			admin_usage(stdout);
			return 0;
		} else {
			admin_usage(stderr);
			return 2;
		}
	}
	verb = optind < argc ? argv[optind] : NULL;
	if (verb && strcmp(verb, "list") != 0 && optind + 1 < argc)
		device_id = argv[optind + 1];
	if (!db || !verb || (strcmp(verb, "list") != 0 && !device_id) ||
	    optind + (device_id ? 2 : 1) != argc ||
	    (strcmp(verb, "list") != 0 && strcmp(verb, "revoke") != 0 &&
	     strcmp(verb, "allow") != 0)) {
		admin_usage(stderr);
		return 2;
	}
	store_default_options(&store_options);
	store_options.readers = 1;
	if (store_open(db, &store_options, &store, message, sizeof(message)) != 0) {
		log_error("%s", message);
		return 1;
	}
	if (strcmp(verb, "list") == 0)
		status = list_devices(store);
	else
		status = set_revoked(store, device_id, strcmp(verb, "revoke") == 0);
	store_close(store);
	return status;
}
