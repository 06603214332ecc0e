/*
 * main.c - rmmhunt-collector: wire the store, the secrets and the server,
 * then wait for signals.
 *
 * The main thread owns the upkeep: every second it cuts slow connections
 * (server_sweep) and, every --retention-interval, runs retention steps
 * until nothing is due.  SIGHUP reloads the enrollment secret and analyst
 * tokens; SIGTERM and SIGINT stop after the requests in flight are
 * answered (a batch being stored is stored and acknowledged, or not stored
 * at all).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "api.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "options.h"
#include "secrets.h"
#include "server.h"
#include "store.h"

#define RETENTION_STEPS_PER_SECOND 50

static void block_signals(sigset_t *signals)
{
	sigemptyset(signals);
	sigaddset(signals, SIGINT);
	sigaddset(signals, SIGTERM);
	sigaddset(signals, SIGHUP);
	sigprocmask(SIG_BLOCK, signals, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void write_port_file(const char *path, unsigned port)
{
	char temporary[4096];
	FILE *out;

	snprintf(temporary, sizeof(temporary), "%s.tmp", path);
	out = fopen(temporary, "we");
	if (!out || fprintf(out, "%u\n", port) < 0 || fclose(out) != 0 ||
	    rename(temporary, path) != 0)
		log_warning("cannot write --port-file %s: %s", path, strerror(errno));
}

/* A few retention steps (bounded, so the loop keeps sweeping). */
static bool retention_round(struct store *store)
{
	int64_t now = timefmt_now_ticks();

	for (int i = 0; i < RETENTION_STEPS_PER_SECOND; i++) {
		int removed = store_retention_step(store, now);

		if (removed < 0) {
			log_warning("retention: %s", strerror(-removed));
			return false;
		}
		if (removed == 0)
			return false;
	}
	return true; /* more is due */
}

static void reload(struct secrets *secrets)
{
	char message[512];

	if (secrets_reload(secrets, message, sizeof(message)) == 0)
		log_notice("SIGHUP: enrollment secret and %zu analyst token(s) reloaded",
			   secrets_analyst_token_count(secrets));
	else
		log_error("SIGHUP: %s; the previous secrets stay", message);
}

static int serve(const struct collector_options *options, struct store *store,
		 struct secrets *secrets)
{
	struct api_context api = {store, secrets, options->limits};
	struct server *server = NULL;
	char message[512];
	sigset_t signals;
	time_t last_retention = 0;
	bool more_retention = true;

	block_signals(&signals);
	if (server_start(&server, &options->server, &api, message, sizeof(message)) != 0) {
		log_error("%s", message);
		return 1;
	}
	log_notice("listening on %s://%s (port %u)", options->server.insecure_http ? "http" : "https",
		   options->server.listen, server_port(server));
	if (options->port_file)
		write_port_file(options->port_file, server_port(server));
	for (;;) {
		struct timespec second = {1, 0};
		int signal_number = sigtimedwait(&signals, NULL, &second);

		if (signal_number == SIGINT || signal_number == SIGTERM) {
			log_notice("%s: stopping after the requests in flight",
				   signal_number == SIGINT ? "SIGINT" : "SIGTERM");
			break;
		}
		if (signal_number == SIGHUP)
			reload(secrets);
		server_sweep(server);
		if (more_retention || time(NULL) - last_retention >= options->retention_interval) {
			last_retention = time(NULL);
			more_retention = retention_round(store);
		}
	}
	server_stop(server);
	log_notice("stopped");
	return 0;
}

int main(int argc, char **argv)
{
	struct collector_options options;
	struct store *store = NULL;
	struct secrets *secrets = NULL;
	char message[512];
	int status;

	log_configure("rmmhunt-collector", LOG_LEVEL_INFO);
	if (argc > 1 && strcmp(argv[1], "devices") == 0)
		return admin_devices(argc - 1, argv + 1);
	status = options_parse(argc, argv, &options);
	if (status || options.check_config) {
		if (status == 0)
			printf("%s: the configuration is valid\n",
			       options.config_path ? options.config_path : "(command line)");
		options_free(&options);
		return status == 1 ? 0 : status;
	}
	log_configure("rmmhunt-collector", options.log_level);
	if (secrets_open(options.enroll_secret_file, options.analyst_token_file, &secrets, message,
			 sizeof(message)) != 0) {
		log_error("%s", message);
		return 1;
	}
	if (store_open(options.db, &options.store, &store, message, sizeof(message)) != 0) {
		log_error("%s", message);
		secrets_close(secrets);
		return 1;
	}
	status = serve(&options, store, secrets);
	store_close(store);
	secrets_close(secrets);
	options_free(&options);
	return status;
}
