/*
 * wine_rows.h - one row per start of a Windows program under Wine.
 *
 * Wine starts a program through a chain of execs in one pid (wine.h).  The
 * assembler makes a pending exec of each; this module makes them one row
 * (docs/records.md, "Windows programs under Wine"):
 *   - a loader or preloader exec is a step only when the file that ran is
 *     one of Wine's packaged loaders (wine_loaders.h), not a file with its
 *     name; a script step is recognised by name, but never folds another;
 *   - a step's row is held: the next loader step of the chain in the same
 *     process is folded into it (taking its lineage, ExecSequence and list
 *     of loaders), so only the last step is written; an exec that is not a
 *     loader step, the process's exit or a deadline releases it;
 *   - the program a step names is resolved off the main thread
 *     (wine_worker.h); while the last step is held, /proc/PID/maps is read
 *     (backing off) to see which .exe really runs;
 *   - the row takes the Windows program's identity (FolderPath, command
 *     line, the .exe's hashes and version info) only once maps shows the
 *     process really mapped that file (same device and inode), or the file
 *     it did map was opened and checked; otherwise the row keeps the
 *     identity of the file that ran (the loader) and the program stays a
 *     claim in AdditionalFields.  A confirmed row carries the loader's
 *     hashes too (ExeSHA256...);
 *   - a program started by a Windows program (Wine forks twice) gets that
 *     program as its initiating process, not the middle fork;
 *   - a Windows program found by the start-up scan is resolved too, so what
 *     it starts shows it.
 *
 * Main thread only, like the assembler that owns it (the worker touches
 * only its jobs).
 */
#ifndef RMMHUNT_AGENT_WINE_ROWS_H
#define RMMHUNT_AGENT_WINE_ROWS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/list.h"
#include "exec_facts.h"
#include "file_cache.h"
#include "process_table.h"
#include "wine/wine.h"
#include "wine/wine_loaders.h"
#include "wine/wine_worker.h"

struct pending_exec;

/* Steps of Wine's loader chain remembered in the row (WineLoaderChain). */
#define WINE_CHAIN_MAX 8

/* The Wine side of a pending exec (docs/records.md). */
struct wine_row {
	bool step; /* the exec is a step of Wine's loader chain */
	bool final_step; /* the loader that runs the program */
	bool child; /* started by a Windows program */
	bool binfmt; /* a step's filename was the PE (binfmt_misc) */
	bool binfmt_candidate; /* a step's filename was its program */
	char *prefix; /* the Wine prefix a step found, for the next steps */
	uint32_t intermediate_pid; /* Wine's double fork: the middle process */
	char *chain[WINE_CHAIN_MAX]; /* loaders of the steps folded into it */
	uint32_t chain_length; /* steps folded, this one included */
	uint32_t first_sequence; /* ExecSequence of the chain's first step */
	enum wine_mapped mapped; /* what /proc/PID/maps showed */
	char *mapped_path;
	bool confirmed; /* the row shows the Windows program (maps said so) */
	struct wine_job *job; /* resolution or maps check under way */
	bool exited; /* the process exited while its resolution ran: the row
		      * waits for what it finds (or its deadline) */
	const char *resolve_error; /* why the program is not known: "" */
	struct file_info *exe_file; /* the file that ran: the loader */
	struct file_info *program_file; /* the .exe the resolution opened */
	/* held until the chain goes on, the program is seen mapped, the
	 * process exits (once its resolution is back) or the deadline passes */
	uint64_t hold_deadline_ns, next_maps_check_ns, maps_interval_ns;
	struct list_node held_node; /* on wine_rows.held while held */
};

void wine_row_free(struct wine_row *row);

struct wine_rows_stats {
	uint64_t programs; /* images resolved to a Windows program */
	uint64_t confirmed; /* rows and images that took its identity (maps) */
	uint64_t steps_folded; /* loader-chain rows replaced by the next step */
	uint64_t adopted; /* program taken from /proc/PID/maps */
	uint64_t errors; /* out of memory while resolving */
	uint64_t held_overflow; /* rows released early: too many held */
	uint64_t not_wine_loaders; /* execs named like a loader, not Wine's */
	uint64_t jobs_refused; /* the worker's queue was full */
	uint64_t budget_exceeded; /* lookups stopped: too costly */
	uint32_t held; /* rows held for the chain or the maps check */
	uint32_t queued; /* jobs waiting for the worker */
};

struct wine_rows {
	struct process_table *processes;
	struct file_cache *files;
	struct wine_loaders loaders;
	struct wine_worker *worker;
	struct list held; /* of struct pending_exec, oldest first */
	struct wine_rows_stats stats;
	uint64_t loaders_checked_ns; /* when the dpkg database was looked at */
};

/* Loaders from the dpkg database under dpkg_root ("/"; NULL: none). */
int wine_rows_init(struct wine_rows *rows, struct process_table *processes,
		   struct file_cache *files, const char *dpkg_root);
void wine_rows_destroy(struct wine_rows *rows);

/* Trust path as a loader too (--wine-loader). */
int wine_rows_add_loader(struct wine_rows *rows, const char *path);
/* Run resolutions on the worker thread from now on (else inline). */
int wine_rows_start_worker(struct wine_rows *rows);

/* Is this exec a step of Wine's loader chain?  (Names first: cheap; then
 * a loader's device and inode.) */
bool wine_rows_is_step(struct wine_rows *rows, const struct exec_facts *facts,
		       struct wine_step *step);

/* Apply what the worker found; call before handling each event and when
 * polling. */
void wine_rows_take_results(struct wine_rows *rows);

/*
 * An exec in a process that may have a held row (an earlier step): when
 * the exec is a loader step (step NULL: no step), the held row is folded
 * into it (which then has its lineage) and true is returned; otherwise the
 * held row, if any, is released (the chain ended there, or a script step
 * would fold another: never) and false is returned: the caller takes the
 * exec's lineage.
 */
bool wine_rows_continue(struct wine_rows *rows, struct pending_exec *pending,
			const struct wine_step *step);

/* A step's lineage taken by the caller: past Wine's double fork when a
 * Windows program started it. */
void wine_rows_take_lineage(struct wine_rows *rows, const struct process *process,
			    struct pending_exec *pending);

/* A step: its program is looked for (by the worker); image (the exec's new
 * image, the loader's) is kept as the file that ran. */
void wine_rows_resolve_step(struct wine_rows *rows, const struct process *process,
			    struct pending_exec *pending, const struct wine_step *step,
			    struct image *image);

/*
 * A step's row, on its pending list with its hash waits registered: hold it
 * (one more wait) and number it as the chain's first step.  Past the bound
 * on held rows the oldest is released.
 */
void wine_rows_hold(struct wine_rows *rows, struct pending_exec *pending);

/* The start-up scan found this process: a Windows program running? */
void wine_rows_resolve_running(struct wine_rows *rows, const struct exec_facts *facts,
			       struct image *image);

/* The process exited: its held row is released. */
void wine_rows_exit(struct wine_rows *rows, uint32_t pid, uint64_t start_boot_ns);

/* Read /proc/PID/maps of the held rows due; release those seen mapped or
 * past their deadline (now_ns: CLOCK_BOOTTIME). */
void wine_rows_poll(struct wine_rows *rows, uint64_t now_ns);

/* Release every held row (shutting down). */
void wine_rows_release_all(struct wine_rows *rows);

void wine_rows_read_stats(struct wine_rows *rows, struct wine_rows_stats *stats);

#endif
