/*
 * state_file.h - small files of a program's state, replaced atomically.
 *
 * The agent keeps its ReportId counter, its enrollment and its outbox
 * cursors in files that must never be seen half written, even after a
 * crash or a power cut: a new version is written to NAME.tmp (0600),
 * fsync'd, renamed over NAME, and the directory fsync'd, so after any
 * crash the file holds either the old or the new version, whole.
 */
#ifndef RMMHUNT_BASE_STATE_FILE_H
#define RMMHUNT_BASE_STATE_FILE_H

#include <stddef.h>

struct strbuf;

/* Replace path with length bytes of data (mode 0600).  0 or negative errno. */
int state_file_write(const char *path, const void *data, size_t length);

/*
 * Replace path with data for readers that poll it (status.json): a reader
 * sees the old or the new version whole, but nothing is fsync'd, and the
 * previous version's file is reused: NAME.tmp (ours: a regular file of
 * this user with one link, else made anew) is overwritten in place and
 * exchanged with NAME (renameat2 RENAME_EXCHANGE; a plain rename where
 * that is not possible).  A new file and a rename over an old one each
 * time cost an inode made and one freed, and ext4 flushes the new file's
 * data at such a rename.  0 or negative errno.
 */
int state_file_publish(const char *path, const void *data, size_t length);

/*
 * Read the whole of path (at most max_length bytes) into a malloc'd,
 * NUL-terminated *text.  0; -ENOENT when there is no file; -EFBIG when it
 * is longer; another negative errno.
 */
int state_file_read(const char *path, size_t max_length, char **text, size_t *length);

/* Parses a file's text into out: 0, or a negative errno with a reason. */
typedef int (*state_file_parser)(const char *text, size_t length, void *out, char *message,
				 size_t message_size);

/*
 * Read path (at most max_length bytes) and parse it into out: 0; 1 when
 * there is no file; a negative errno with a reason in message (the file's
 * error, or the parser's).
 */
int state_file_load(const char *path, size_t max_length, state_file_parser parse, void *out,
		    char *message, size_t message_size);

/* Writes an object's text into out. */
typedef void (*state_file_formatter)(const void *object, struct strbuf *out);

/* Replace path with the text format gives object (state_file_write). */
int state_file_save(const char *path, state_file_formatter format, const void *object);

#endif
