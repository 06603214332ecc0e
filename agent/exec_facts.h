/*
 * exec_facts.h - an exec (or scan) record from the probe, decoded.
 *
 * The ring buffer's memory is only ours during the callback, so the record
 * is copied out here: the fixed exec_info as is, and the strings of the data
 * area as heap strings.  Paths arrive as components, leaf first; here they
 * become ordinary absolute paths.  Strings keep their raw bytes: escaping to
 * valid UTF-8 happens only when a record column is written.
 */
#ifndef RMMHUNT_AGENT_EXEC_FACTS_H
#define RMMHUNT_AGENT_EXEC_FACTS_H

#include <stddef.h>
#include <stdint.h>

#include "exec_event.h"

struct exec_facts {
	struct event_header header;
	struct exec_info info;
	char *filename; /* bprm->filename: what was asked */
	char *interp; /* bprm->interp: differs for scripts and binfmt_misc */
	char *exe_path; /* path of what runs; "" when unknown */
	char *cwd;
	char *cgroup_name;
	char *argv; /* NUL-separated, args_len bytes (+ a NUL we add) */
	size_t argv_length;
};

/*
 * Decode an EVENT_EXEC or EVENT_SCAN record of size bytes.  Returns 0,
 * -EINVAL for a malformed record (lengths beyond the record), -ENOMEM.
 */
int exec_facts_decode(struct exec_facts *facts, const void *data, size_t size);
void exec_facts_free(struct exec_facts *facts);

/*
 * Turn leaf-first NUL-terminated components into "/a/b/c".  No components:
 * "/" (the walk started at the root).  Returns a heap string or NULL.
 */
char *exec_path_from_components(const char *components, size_t length);

#endif
