/*
 * cache_layout.h - the compact layout of the cache's records (schema 6).
 *
 * Most of a DeviceProcessEvents record repeats: the same file version
 * (path, size, hashes, version info) runs thousands of times, the same
 * parent starts many children, command lines, accounts and the device's
 * own facts repeat.  Schema 2 keeps each of those once, in a dictionary
 * table, and a narrow Events table refers to them by number:
 *
 *   Events      Id (the record's sequence), Timestamp, the per-exec facts,
 *               and references (...Ref) into the dictionaries
 *   EventExtras the per-exec facts a record rarely has, for the few
 *               records that have them
 *   Files       a file version: name, folder, size, hashes, version info,
 *               and (FactsRef) what AdditionalFields says of the executed
 *               file: its inode, times, build id, package...
 *   Accounts    domain, name, SID, UPN, object id
 *   Texts       command lines and the text members of AdditionalFields
 *   Contexts    the device and the facts that rarely change between execs
 *   Sessions    what an exec's session repeats: its Contexts, Accounts,
 *               cgroup and tty Texts rows, logon and session ids, the
 *               cgroup and audit-session ids of AdditionalFields
 *   Processes   a snapshot of the initiating process (its own Files,
 *               Accounts, Texts and ProcessContexts references and its
 *               per-process facts; its parent's creation time as a
 *               distance below its own); schema 6: linked to its own
 *               exec's Events row when the cache has it, and then
 *               without what that record says of the process
 *   ProcessContexts  what rarely changes between initiating processes:
 *               integrity, elevation, signer, remote session
 *   Shapes      AdditionalFields with its per-exec members cut out: the
 *               JSON text where each such value is one marker byte
 *   Facts       runs of AdditionalFields' members that describe the
 *               executed file (for Files) or its container (for Contexts)
 *
 * Every dictionary row carries Refs, how many rows refer to it, kept in the
 * same transactions as those rows: retention removes a dictionary row when
 * its count reaches 0, so nothing is left unreferenced.
 *
 * DeviceProcessEvents is a view over these tables with the 68 columns (and
 * rowid): readers that speak SQL (the outbox, sqlite3, a person) see what
 * schema 1 stored.  The KQL row source joins only the tables a query's
 * columns need (cache_layout_append_joins) and decides a term on a
 * dictionary column once per dictionary row (cache_layout_semi_join).
 *
 * docs/cache.md says why this layout and what it costs.
 */
#ifndef RMMHUNT_CACHE_LAYOUT_H
#define RMMHUNT_CACHE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "model/schema.h"

#define CACHE_LAYOUT_EVENTS_TABLE "Events"

/*
 * Time without an index (schema 3): Events rows arrive nearly in Id order,
 * so EventBlocks keeps, per block of 2^CACHE_LAYOUT_BLOCK_SHIFT consecutive
 * Ids, the lowest and highest Timestamp its records ever had.  A time
 * range is answered by scanning the Ids of the blocks it overlaps (in
 * table order, the range checked per row).  The summary may be wider than
 * what is left after retention, never narrower: it is only ever widened,
 * and a block goes when no record of it is left.
 */
#define CACHE_LAYOUT_BLOCKS_TABLE "EventBlocks"
#define CACHE_LAYOUT_BLOCK_SHIFT 8
#define CACHE_LAYOUT_BLOCK_UPSERT                                                          \
	"INSERT INTO " CACHE_LAYOUT_BLOCKS_TABLE " (Block, Low, High) VALUES (?, ?, ?)"      \
	" ON CONFLICT(Block) DO UPDATE SET Low = min(Low, excluded.Low),"                    \
	" High = max(High, excluded.High)"
/* Blocks no record is left in (retention). */
#define CACHE_LAYOUT_BLOCKS_TRIM                                                           \
	"DELETE FROM " CACHE_LAYOUT_BLOCKS_TABLE " WHERE Block < coalesce((SELECT min(Id)"    \
	" FROM " CACHE_LAYOUT_EVENTS_TABLE ") >> 8, 9223372036854775807)"
/* The largest Id a record older than ?1 can have (NULL: there is none). */
#define CACHE_LAYOUT_BLOCKS_LAST_ID_BEFORE                                                 \
	"(SELECT ((max(Block) + 1) << 8) - 1 FROM " CACHE_LAYOUT_BLOCKS_TABLE " WHERE Low < ?1)"
/* Retention by age: the Events rows older than ?1, at most ?2, lowest Ids
 * first (the caller appends RETURNING the references to release). */
#define CACHE_LAYOUT_EVENTS_DELETE_BEFORE                                                  \
	"DELETE FROM " CACHE_LAYOUT_EVENTS_TABLE " WHERE Id IN (SELECT Id FROM "              \
	CACHE_LAYOUT_EVENTS_TABLE " WHERE Id <= coalesce(" CACHE_LAYOUT_BLOCKS_LAST_ID_BEFORE  \
	", -1) AND Timestamp < ?1 ORDER BY Id LIMIT ?2)"
/* The Ids [?1, ?2] holding every record of Timestamp range [?3, ?4]. */
#define CACHE_LAYOUT_BLOCKS_RANGE                                                          \
	"SELECT min(Block) << 8, ((max(Block) + 1) << 8) - 1 FROM "                           \
	CACHE_LAYOUT_BLOCKS_TABLE " WHERE High >= ?1 AND Low <= ?2"

/* The dictionaries; a table that refers to others comes first. */
enum layout_dictionary {
	LAYOUT_PROCESSES,
	LAYOUT_SESSIONS,
	LAYOUT_FILES,
	LAYOUT_ACCOUNTS,
	LAYOUT_TEXTS,
	LAYOUT_CONTEXTS,
	LAYOUT_SHAPES,
	LAYOUT_PROCESS_CONTEXTS,
	LAYOUT_FACTS,
	LAYOUT_DICTIONARY_COUNT
};

#define LAYOUT_MAX_FIELDS 18

/* Processes: ParentCreationDelta = CreationTime (0 when NULL) - the
 * parent's creation time. */
#define LAYOUT_PROCESS_PROCESS_ID_FIELD 5
#define LAYOUT_PROCESS_CREATION_FIELD 6
#define LAYOUT_PROCESS_PARENT_CREATION_FIELD 9

/*
 * Schema 6: a Processes row "linked" to its own exec's Events row.  When
 * the cache holds the exec of the initiating process (the same pid,
 * creation time, UniqueId, file, command line, account, logon and session
 * id), the snapshot's row leaves those fields NULL and takes them from
 * that Events row (alias pe) and its Sessions row (ps).  A linked row's
 * Id is 2 x the Events row's Id (the row reads its exec with no column
 * and no index: retention finds it from the Events Id); any other row's
 * Id is 2 x the Id of the record that made it + 1, so the two never meet.
 * A linked row still linked has ProcessId NULL (a link needs a pid).
 * Deleting the Events row (a trigger, CACHE_LAYOUT_LINK_TRIGGER_NAME)
 * first writes those fields into the linked row and counts its new
 * references, so no row ever points at a deleted record.
 */
#define LAYOUT_PROCESS_LINKS 8
#define CACHE_LAYOUT_LINK_TRIGGER_NAME "Events_link"
#define CACHE_LAYOUT_EXEC_ALIAS "pe"
#define CACHE_LAYOUT_EXEC_SESSION_ALIAS "ps"

struct layout_process_link {
	const char *source; /* the column of Events (or Sessions) holding it,
			     * NULL: the creation time (Timestamp - CreationDelta) */
	int field; /* the Processes field */
	int exec_use; /* a reference: the use the exec's record has it in */
	int exec_column; /* a value: the exec's record column */
	bool session; /* source is the exec's Sessions row's */
};

extern const struct layout_process_link layout_process_links[LAYOUT_PROCESS_LINKS];

/* The link of a Processes field, or NULL when a linked row holds it. */
const struct layout_process_link *cache_layout_process_link(size_t field);

/* The Id of the row of Processes linked to Events row id, and of a row
 * not linked made by record id. */
static inline int64_t cache_layout_linked_process_id(int64_t id)
{
	return id * 2;
}
static inline int64_t cache_layout_process_id(int64_t id)
{
	return id * 2 + 1;
}

struct layout_dictionary_def {
	const char *table;
	size_t field_count;
	const char *const *fields;
	int numeric_text_field; /* a decimal string kept as INTEGER, or -1 */
};

extern const struct layout_dictionary_def layout_dictionaries[LAYOUT_DICTIONARY_COUNT];

/*
 * A place a dictionary is used from: the owner's reference column names a
 * row of the dictionary, whose fields hold these record columns.
 */
enum layout_use {
	USE_FILE,
	USE_SESSION,
	USE_ACCOUNT,
	USE_CONTEXT,
	USE_CGROUP,
	USE_TTY,
	USE_COMMAND_LINE,
	USE_PROCESS,
	USE_PROCESS_FILE,
	USE_PROCESS_ACCOUNT,
	USE_PROCESS_COMMAND_LINE,
	USE_PROCESS_CONTEXT,
	USE_SHAPE,
	USE_CWD,
	USE_FILE_FACTS,
	USE_CONTAINER_FACTS,
	LAYOUT_USE_COUNT
};

#define LAYOUT_FIELD_REF (-2) /* a field holding another use's reference */
#define LAYOUT_FIELD_OTHER (-1) /* a field filled otherwise (shape, parts) */

struct layout_use_def {
	const char *alias;
	enum layout_dictionary dictionary;
	int owner; /* a use, or -1 for Events */
	const char *reference; /* the owner's column */
	int columns[LAYOUT_MAX_FIELDS]; /* record column per field */
	int ref_uses[LAYOUT_MAX_FIELDS]; /* for LAYOUT_FIELD_REF fields */
};

extern const struct layout_use_def layout_uses[LAYOUT_USE_COUNT];

/*
 * AdditionalFields: the members that change from exec to exec are cut out
 * of the JSON text (the rest is a Shapes row) and kept in Events or in the
 * session's row, as numbers (or their text when not a plain integer) or
 * as Texts references.  A PART_PROCESS_ID number is NULL when it equals
 * ProcessId, a PART_SAME_AS_PREVIOUS one when it equals the part before.
 * Runs of consecutive members that describe the executed file (ExeInode,
 * ElfBuildId, DebPackage, Comm...) or the container it runs in (its
 * namespaces, ContainerId) are cut out too, each run whole (keys, values
 * and the commas between them) into a Facts row the record's Files or
 * Contexts row refers to (layout_fact_classes), marked in the shape by one
 * byte each after the parts' (up to the class's runs; a later run stays in
 * the shape).  No Facts row is made for a record without such runs.
 */
enum layout_part_kind { PART_PROCESS_ID, PART_NUMBER, PART_SAME_AS_PREVIOUS, PART_TEXT };
#define LAYOUT_PART_COUNT 9
#define LAYOUT_NUMBER_PARTS 4 /* parts 0..3 are X1..X4 (Events, EventExtras) */
#define LAYOUT_FACT_RUNS 5 /* of all classes; run k is marked LAYOUT_PART_COUNT + 1 + k */
#define LAYOUT_FACT_CLASSES 2

struct layout_fact_class {
	int use; /* the use of Facts whose row holds the runs (Run1...) */
	int first_run, runs; /* the class's runs in layout_split.fact */
	const char *const *names; /* members by name */
	size_t name_count;
	const char *const *prefixes; /* or by a prefix and a capital letter */
	size_t prefix_count;
};

extern const struct layout_fact_class layout_fact_classes[LAYOUT_FACT_CLASSES];

struct layout_part_def {
	const char *key;
	enum layout_part_kind kind;
	int use; /* PART_TEXT: the Texts use holding it; a number: -1 (Events)
		  * or the use whose dictionary holds it */
	int field; /* a number held by a use: its field there; one of Events
		    * (use -1): its column, in Events (EVENT_X...) or, when it
		    * is rarely there, in EventExtras (EXTRA_X...) */
	bool rare;
};

extern const struct layout_part_def layout_parts[LAYOUT_PART_COUNT];

struct layout_split {
	bool split; /* false: keep the text whole (Events.Raw) */
	struct strbuf shape; /* the text with each part's value one marker */
	const char *part[LAYOUT_PART_COUNT]; /* value text, NULL when absent */
	size_t part_length[LAYOUT_PART_COUNT];
	const char *fact[LAYOUT_FACT_RUNS]; /* a run's text, NULL when absent */
	size_t fact_length[LAYOUT_FACT_RUNS];
};

/* The class of an AdditionalFields member cut out in runs, or -1. */
int layout_fact_class(const char *key, size_t length);

/* Splits AdditionalFields' text; split->shape must be initialised. */
void cache_layout_split(const char *text, size_t length, struct layout_split *split);

/* Events' columns, in the order cache_layout_events_insert_sql binds them. */
enum layout_event_field {
	EVENT_ID,
	EVENT_TIMESTAMP,
	EVENT_PROCESS_ID,
	EVENT_CREATION_DELTA,
	EVENT_REPORT_ID,
	EVENT_UNIQUE_ID,
	EVENT_X2, /* NamespacePid, NULL when it is ProcessId */
	EVENT_X3, /* ArgvCapturedBytes */
	EVENT_FIRST_REF,
	/* one per use owned by Events, in use order */
};

/*
 * What a record rarely has is kept out of its Events row (each column
 * there costs every row a byte even when NULL): an EventExtras row, with
 * the Events row's Id, only when one of these is not NULL.  A trigger
 * deletes it with its Events row.
 */
#define CACHE_LAYOUT_EXTRAS_TABLE "EventExtras"
#define CACHE_LAYOUT_EXTRAS_TRIGGER                                                        \
	"CREATE TRIGGER IF NOT EXISTS Events_extras AFTER DELETE ON "                      \
	CACHE_LAYOUT_EVENTS_TABLE " BEGIN DELETE FROM " CACHE_LAYOUT_EXTRAS_TABLE          \
	" WHERE Id = old.Id; END;\n"
enum layout_extra_field {
	EXTRA_ID,
	EXTRA_RAW, /* AdditionalFields kept whole (not split) */
	EXTRA_X1, /* Tid, when it is not ProcessId */
	EXTRA_X4, /* ArgvTotalBytes, when it is not ArgvCapturedBytes */
	EXTRA_FIELD_COUNT
};
/* The joins' bit (cache_layout_append_joins) for EventExtras. */
#define LAYOUT_EXTRAS_USES (1u << LAYOUT_USE_COUNT)
/* ... and for a linked Processes row's exec: Events and Sessions again. */
#define LAYOUT_EXEC_USES (1u << (LAYOUT_USE_COUNT + 1))

/* The triggers on Events: EventExtras' and the links' (CREATE ... IF NOT
 * EXISTS: made with the tables and again after a conversion). */
void cache_layout_triggers_sql(struct strbuf *out);

/* The uses Events owns, in the order of its reference columns. */
size_t cache_layout_event_uses(int uses[LAYOUT_USE_COUNT]);

/* "CREATE TABLE ..." of the dictionaries, Events, its index and the view. */
void cache_layout_schema_sql(struct strbuf *out);
/* The view alone (made after a schema-1 table of that name is gone). */
void cache_layout_view_sql(struct strbuf *out);

/* "INSERT INTO Events (...) VALUES (?,...)" in layout_event_field order. */
void cache_layout_events_insert_sql(struct strbuf *out);
/* "INSERT INTO EventExtras (...) VALUES (?,...)" in layout_extra_field order. */
void cache_layout_extras_insert_sql(struct strbuf *out);
/* ", e.FileRef, ..." every reference column of Events, in use order. */
void cache_layout_append_event_references(struct strbuf *out, const char *prefix);
/* delete, a DELETE of Events rows, returning their reference columns (what
 * cache_compact_delete_events releases), then their Id. */
void cache_layout_events_delete_sql(struct strbuf *out, const char *delete);
/* The reference columns of a dictionary's rows: (use, column name). */
size_t cache_layout_dictionary_references(enum layout_dictionary dictionary,
					  int uses[LAYOUT_MAX_FIELDS]);

/* The SQL expression of a record column over alias e and the uses'
 * aliases, and the uses it needs (a bit per use, with their owners). */
void cache_layout_append_column(struct strbuf *out, int column);
uint32_t cache_layout_column_uses(int column);
/* " LEFT JOIN Files AS ef ON ef.Id = e.FileRef ..." for the uses. */
void cache_layout_append_joins(struct strbuf *out, uint32_t uses);

/*
 * A column held as a plain field of a dictionary Events refers to: its
 * use and field name (true), so a condition on it can be decided once per
 * dictionary row: e.<reference> IN (SELECT Id FROM <table> WHERE ...).
 */
bool cache_layout_semi_join(int column, int *use, const char **field);

/* "SELECT count(*) ..." of dictionary rows nothing refers to (and of
 * linked Processes rows whose Events row is gone), and of rows
 * whose Refs disagrees with the references (both 0 in a sound cache). */
void cache_layout_orphans_sql(struct strbuf *out);
void cache_layout_bad_refs_sql(struct strbuf *out);

#endif
