/*
 * rulefile.h - one hunting rule, read from a Sentinel YAML file.
 *
 * The agent and `rmmhunt rules` read the rule files Microsoft Sentinel uses
 * (id, name, description, tactics, relevantTechniques, query, ...) with
 * libyaml.  Only those fields matter here; the others are ignored.  CRLF
 * line ends, tabs inside the query, trailing spaces and a missing final
 * newline are all fine.
 *
 * The query keeps its place in the file (query_line, query_column) so that a
 * KQL error can be reported at the file's own line and column.
 */
#ifndef RMMHUNT_RULEFILE_H
#define RMMHUNT_RULEFILE_H

#include <stddef.h>

#define RULEFILE_MAX_BYTES (1 << 20)

struct rule_file {
	char *path;
	char *id;
	char *name;
	char *description;
	char *tactics; /* comma-separated, as written (a list is joined) */
	char *techniques; /* relevantTechniques, comma-separated */
	char *query;
	size_t query_length;
	unsigned query_line; /* 1-based file line of the query's first line */
	unsigned query_column; /* 1-based file column where its lines start */
};

struct rule_file_error {
	unsigned line, column; /* 1-based; 0 when unknown */
	char message[256];
};

/*
 * Read path into rule.  Returns 0, or a negative errno with *error filled
 * (-EINVAL: not a rule file: bad YAML, no query...).
 */
int rule_file_load(const char *path, struct rule_file *rule,
		   struct rule_file_error *error);

/*
 * How a caller says what went wrong: "PATH:LINE:COLUMN: MESSAGE", or
 * "PATH: MESSAGE" when the error has no position (the file could not be
 * read, the rule has no query).  Written to out (size bytes, cut to fit);
 * returns out.
 */
const char *rule_file_error_text(const struct rule_file_error *error, const char *path,
				 char *out, size_t size);

/* The same from memory (origin names it in messages). */
int rule_file_parse(const char *text, size_t length, const char *origin,
		    struct rule_file *rule, struct rule_file_error *error);

void rule_file_free(struct rule_file *rule);

/*
 * The rule files of a directory (*.yaml, *.yml), sorted, as a NULL-terminated
 * array of heap paths in *paths; or path itself when it is a file.  Returns
 * 0, or a negative errno (*paths NULL): path cannot be read, out of memory.
 */
int rule_file_list(const char *path, char ***paths);
void rule_file_list_free(char **paths);

#endif
