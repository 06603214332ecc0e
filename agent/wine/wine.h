/*
 * wine.h - from an exec's facts to the Windows program it starts under Wine.
 *
 * Wine starts a Windows program in one pid through a chain of execs: the
 * /usr/bin/wine shell script, the loader (wine64, which re-execs itself or
 * its preloader), or, for a program started by another Windows program, the
 * loader alone after a double fork.  binfmt_misc may begin the chain with
 * the PE file itself as the exec's filename.  This module recognises those
 * execs (a test on names first, so other execs cost next to nothing), finds
 * the program in the new image's argv, and resolves it as Wine does: DOS
 * paths through $WINEPREFIX/dosdevices, Unix paths turned into DOS paths
 * through the same drive table, a name Wine cannot find started through
 * start.exe.  The result fills the record: FolderPath and FileName as the
 * Windows program sees them, its Windows command line, and the .exe opened
 * for its hashes and version info.  How the agent folds a chain into one
 * record is wine_rows.h's business (docs/records.md, "Windows programs
 * under Wine").
 *
 * The parsers (wine_classify, wine_path_parse, wine_command_line,
 * wine_environ_value, wine_maps_find) are pure, see
 * tests/unit/test_agent_wine.c and fuzz/fuzz_agent_wine.c;
 * wine_resolve() and wine_read_proc() read /proc and the file system.
 */
#ifndef RMMHUNT_AGENT_WINE_H
#define RMMHUNT_AGENT_WINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "base/strbuf.h"

enum wine_step_kind {
	WINE_STEP_NONE,
	WINE_STEP_SCRIPT, /* a shell wrapper: /usr/bin/wine, wine-stable, wineboot */
	WINE_STEP_LOADER, /* wine, wine64 */
	WINE_STEP_PRELOADER, /* wine-preloader, wine64-preloader */
};

/* One exec of the chain; the pointers point into the exec's strings. */
struct wine_step {
	enum wine_step_kind kind;
	const char *loader; /* the script as asked (filename) or the loader (exe) */
	const char *program; /* the program argument in argv; NULL: none */
	const char *arguments; /* the NUL-separated arguments after it */
	size_t arguments_length;
	bool program_is_filename; /* the exec's filename names the program
				     (binfmt_misc, if the file is a PE) */
};

/*
 * What kind of Wine exec this is, from the exec's facts alone: exe_path (the
 * file that runs), filename (what was asked), interp (the script or
 * binfmt_misc interpreter; "" or filename itself when none) and argv
 * (length bytes, NUL-separated).  Returns false (kind WINE_STEP_NONE) for
 * any other exec, after comparing a few bytes of names only.
 */
bool wine_classify(const char *exe_path, const char *filename, const char *interp,
		   const char *argv, size_t length, struct wine_step *step);

/*
 * The same for a Wine process already running (the agent's start-up scan):
 * Wine has rewritten its argv to drop the loader, so the program is the
 * first word, unless the loader's path still comes first.
 */
bool wine_classify_running(const char *exe_path, const char *argv, size_t length,
			   struct wine_step *step);

enum wine_path_kind {
	WINE_PATH_INVALID, /* empty, UNC or device path: not a file Wine starts */
	WINE_PATH_DOS, /* X:\... (also \\?\X:\..., \??\X:\..., X:/...) */
	WINE_PATH_UNIX, /* /... (also \\?\unix\...) */
	WINE_PATH_RELATIVE, /* against the current directory */
};

struct wine_path {
	enum wine_path_kind kind;
	char drive; /* 'a'..'z', WINE_PATH_DOS only */
	/* DOS and Unix: normalised ("." gone, ".." never above the root),
	 * '/'-separated, starting with '/'.  Relative: the argument with '\'
	 * turned into '/'.  A heap string; NULL for WINE_PATH_INVALID. */
	char *path;
};

/* Parse a program argument.  Returns 0 or -ENOMEM. */
int wine_path_parse(const char *argument, struct wine_path *path);
void wine_path_free(struct wine_path *path);

/* "C:\a\b" from drive 'c' and "/a/b".  A heap string or NULL. */
char *wine_dos_path(char drive, const char *path);

/*
 * A Windows command line as Wine builds one from argv: the first argument
 * always in double quotes, the others quoted when empty or holding a space
 * or tab; a '"' becomes '\"' with the backslashes before it doubled, and
 * inside quotes the backslashes before the closing quote are doubled.
 * Bytes that are not valid UTF-8 are written \xHH (text.h).
 */
void wine_command_line(struct strbuf *out, const char *first,
		       const char *arguments, size_t length);

/* The value of NAME in a NUL-separated NAME=VALUE block (which must end
 * with a NUL), or NULL. */
const char *wine_environ_value(const char *block, size_t length, const char *name);

/*
 * The few names of a process's environment Wine's start depends on, from
 * /proc/PID/environ fed in chunks of any size (the environment may be
 * megabytes, with WINEPREFIX at its end: issue 9).  Only those values are
 * kept, each up to WINE_ENVIRON_VALUE_MAX bytes; a longer one is not a path
 * (too_long).  When a name comes twice the first counts, as getenv(),
 * which Wine uses, finds it.
 */
enum wine_environ_name {
	WINE_ENVIRON_PREFIX, /* WINEPREFIX */
	WINE_ENVIRON_HOME, /* HOME */
	WINE_ENVIRON_LOADER_NOEXEC, /* WINELOADERNOEXEC */
	WINE_ENVIRON_NAMES,
};

#define WINE_ENVIRON_VALUE_MAX 4096
#define WINE_ENVIRON_READ_MAX ((size_t)16 << 20)

struct wine_environ_scan {
	char values[WINE_ENVIRON_NAMES][WINE_ENVIRON_VALUE_MAX + 1];
	bool found[WINE_ENVIRON_NAMES], too_long[WINE_ENVIRON_NAMES];
	char entry[32 + WINE_ENVIRON_VALUE_MAX]; /* the entry being read */
	size_t entry_length;
	bool entry_cut;
	size_t total; /* bytes fed */
	bool cut; /* stopped at WINE_ENVIRON_READ_MAX */
};

void wine_environ_scan_init(struct wine_environ_scan *scan);
void wine_environ_scan_feed(struct wine_environ_scan *scan, const char *data, size_t length);
const char *wine_environ_scan_value(const struct wine_environ_scan *scan,
				    enum wine_environ_name name);

/* What /proc/PID/maps shows of a Windows program. */
enum wine_mapped {
	WINE_MAPPED_UNCHECKED, /* not looked at (yet) */
	WINE_MAPPED_IMAGE, /* the program's file itself (device and inode) */
	WINE_MAPPED_BUILTIN, /* a file of the same name elsewhere: Wine's builtin
				stands in for the placeholder in the prefix */
	WINE_MAPPED_OTHER, /* another .exe: that is what runs */
	WINE_MAPPED_NOT_YET, /* no .exe mapped while the record was held */
	WINE_MAPPED_EXITED, /* the process was gone before it could be seen */
};

struct wine_maps_query {
	uint64_t device, inode; /* the program's file; 0/0: unknown */
	const char *name; /* its file name, compared without case; may be NULL */
};

struct wine_maps_result {
	enum wine_mapped found;
	char *path; /* the mapped file (heap), NULL when nothing was found */
	uint64_t device, inode;
};

/*
 * Look through the text of /proc/PID/maps (length bytes) for the program:
 * its device and inode, else a mapped file of its name, else the first
 * mapped file whose name ends in .exe (without case).  found is
 * WINE_MAPPED_NOT_YET when none is there.  Returns 0 or -ENOMEM.
 */
int wine_maps_find(const char *maps, size_t length,
		   const struct wine_maps_query *query,
		   struct wine_maps_result *result);
void wine_maps_result_free(struct wine_maps_result *result);
const char *wine_mapped_name(enum wine_mapped found);

/* The text of /proc/PID/NAME (at most max bytes, a NUL appended), or NULL
 * with errno set. */
char *wine_read_proc(uint32_t pid, const char *name, size_t max, size_t *length);

/* The Windows program an exec starts (or would start). */
struct wine_program {
	char *folder_path; /* as the program sees it: C:\..., Z:\... */
	char *command_line; /* the Windows command line (escaped text) */
	char *linux_path; /* the .exe on this host; "" when not found */
	char *loader; /* the script or loader of the exec */
	char *prefix; /* the Wine prefix; "" when unknown (process gone) */
	char *requested; /* the program argument as given */
	char *environment_error; /* why the environment did not tell all; "" */
	struct stat file_status; /* of the .exe opened, when has_file */
	bool has_file;
	bool binfmt; /* the exec's filename was the PE (binfmt_misc) */
	bool start_exe; /* not found as given: Wine runs start.exe /exec */
	bool child; /* started by a Windows program */
	bool final_step; /* the loader that runs the program: no exec follows */
	bool budget_exceeded; /* the lookups stopped: too costly (wine.c) */
};

/* What resolving needs besides the step. */
struct wine_context {
	uint32_t pid;
	uint32_t uid;
	const char *cwd; /* at exec time */
	/* the prefix an earlier step of the chain or the Windows parent
	 * found, or NULL */
	const char *known_prefix;
	bool child; /* the creator runs a Windows program */
	/* an earlier step's filename was the program (binfmt_misc, if the
	 * file is a PE) */
	bool binfmt_candidate;
};

/*
 * Resolve the program of a Wine step.  On success (0) *out is the program
 * (NULL for a step without one, e.g. `wine --version`), *fd the .exe opened
 * read-only (-1 when it could not be opened; then *open_errno says why),
 * and *final_step whether this exec runs the program (no further loader
 * exec follows).  Returns -ENOMEM when out of memory.
 */
int wine_resolve(const struct wine_step *step, const struct wine_context *context,
		 struct wine_program **out, int *fd, int *open_errno,
		 bool *final_step);

/*
 * The program for a file Wine was seen mapping (maps): its DOS path through
 * the drive table of program's prefix, the rest copied from program.  *fd
 * is the file, opened and checked against device and inode.  Returns 0,
 * -ENOENT when the file cannot be opened as that one, or -ENOMEM.
 */
int wine_program_from_mapped(const struct wine_program *program,
			     const struct wine_maps_result *mapped,
			     struct wine_program **out, int *fd);

/* A copy of program (NULL when out of memory). */
struct wine_program *wine_program_copy(const struct wine_program *program);
void wine_program_free(struct wine_program *program);

/* The last component of a DOS or Unix path. */
const char *wine_file_name(const char *path);

/* Is name (a file name) that of a loader or preloader (wine64...)? */
bool wine_is_loader_file_name(const char *name);

#endif
