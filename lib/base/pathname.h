/*
 * pathname.h - lexical path arithmetic (no file system access).
 *
 * The agent resolves paths a process asked for (a relative script name, a
 * Windows path under Wine) against facts captured at exec time (its cwd),
 * not against the agent's own view of the file system, which may have
 * changed since.  So this is pure string work: "." and empty components
 * vanish, ".." removes the previous component (never above the root).
 */
#ifndef RMMHUNT_PATHNAME_H
#define RMMHUNT_PATHNAME_H

/* path made absolute against cwd (when relative) and normalised; a heap
 * string, or NULL when out of memory. */
char *pathname_absolute(const char *cwd, const char *path);

#endif
