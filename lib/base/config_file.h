/*
 * config_file.h - the daemons' configuration files, `key = value` lines.
 *
 * /etc/rmmhunt/agent.conf and /etc/rmmhunt/collector.conf are edited by
 * hand, so the format is the one a Debian admin expects:
 *
 *   # a comment (a line whose first non-blank is '#' or ';')
 *   state-dir = /var/lib/rmmhunt
 *   max-body  = 4M          # a comment after a blank is a comment too
 *   rules     = "/srv/rules #1"   (quotes keep blanks and '#'; no escapes)
 *
 * This module only splits a file into (key, value, line) entries and says
 * exactly what is wrong where; which keys exist and what their values mean
 * is config_options.h's job (a key is a long option's name), so the file
 * and the command line are one set of options parsed by one piece of code.
 */
#ifndef RMMHUNT_BASE_CONFIG_FILE_H
#define RMMHUNT_BASE_CONFIG_FILE_H

#include <stddef.h>

/* A configuration file larger than this is refused (it is not one). */
#define CONFIG_FILE_MAX_BYTES 1048576 /* 1 MiB */
#define CONFIG_KEY_MAX 64

struct config_entry {
	char *key;   /* [a-z0-9_-], at most CONFIG_KEY_MAX bytes */
	char *value; /* blanks around it trimmed, quotes removed; may be "" */
	unsigned line;
};

struct config_file {
	struct config_entry *entries; /* in file order */
	size_t count;
};

/* What was wrong and where: line 0 when the file as a whole is wrong. */
struct config_error {
	unsigned line;
	char message[240];
};

/*
 * Split text (length bytes, need not end in NUL) into entries.  Returns 0,
 * -EINVAL with error filled (the first problem: its line and a sentence
 * naming the key when there is one), or -ENOMEM.  *config is empty on
 * error.
 */
int config_file_parse(const char *text, size_t length, struct config_file *config,
		      struct config_error *error);

/* Read path and parse it; -errno from open/read with error filled too. */
int config_file_load(const char *path, struct config_file *config, struct config_error *error);

void config_file_free(struct config_file *config);

#endif
