/*
 * config_options.h - a daemon's options from its config file and its
 * command line, through one getopt_long table.
 *
 * Every long option is also a key of the file, by the same name
 * (`--max-body 4M` is `max-body = 4M`); an option without an argument
 * takes yes or no (`print = yes`).  The few options that only make sense
 * on a command line (--config, --check-config, --help) are listed as not
 * keys.  The order, so that a flag overrides the file:
 *
 *   1. argv is scanned for --config FILE (the last one counts);
 *   2. the file's entries are applied, in order, each through apply();
 *   3. argv's options are applied through apply().
 *
 * apply() is the daemon's: it stores a value or rejects it (logging why,
 * naming the option); a rejected file entry is reported again with the
 * file, line and key.  A key not in the table, a key given twice (unless
 * repeatable), a yes/no key with another value: logged as "FILE:LINE: ..."
 * and -EINVAL.  For a repeatable option apply() is told where the value
 * comes from, so that the command line's values can replace the file's.
 */
#ifndef RMMHUNT_BASE_CONFIG_OPTIONS_H
#define RMMHUNT_BASE_CONFIG_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>

#include "base/config_file.h"

enum config_origin {
	CONFIG_ORIGIN_FILE,
	CONFIG_ORIGIN_COMMAND_LINE,
};

struct config_options {
	const struct option *table;  /* getopt_long's, NULL-terminated */
	const char *short_options;   /* getopt_long's optstring ("" for none) */
	int config_id;               /* the id of --config in table */
	const int *not_keys;         /* ids that are not file keys, ends with 0 */
	const int *repeatable;       /* ids that may be given more than once, ends with 0 */
	/*
	 * Store one option (value NULL for an option without an argument).
	 * Also called with '?' for an unknown command-line option.  Returns
	 * 0 to go on, > 0 to stop at once with that value (--help), < 0 for
	 * an error it has logged.
	 */
	int (*apply)(void *context, int id, const char *value, enum config_origin origin);
	void *context;
};

/*
 * Parse argc/argv and the config file it names.  *config_path is set to
 * the file read (NULL when none); its entries are kept in *file, which
 * must outlive the values apply() kept (config_file_free() after).  Returns 0, apply()'s positive value, or
 * a negative errno (logged: a file that cannot be read or parsed, a bad
 * key or value, an argument that is not an option).
 */
int config_options_parse(const struct config_options *spec, int argc, char **argv,
			 struct config_file *file, const char **config_path);

#endif
