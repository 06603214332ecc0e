/*
 * cache_compact.c - records into the compact layout (see cache_compact.h
 * and cache_layout.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/hashmap.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "store/cache_compact.h"
#include "store/cache_layout.h"
#include "store/cache_schema.h"
#include "store/cache_sqlite.h"

/* The in-memory map of a dictionary (and of recent execs) is emptied when
 * it grows past this. */
#define INTERN_MAX_BYTES (4u << 20)
#define INTERN_MAX_ENTRIES 65536
/* A conversion writes its new dictionary rows every this many records. */
#define CONVERT_BATCH 4096
/* New dictionary rows are written this many to an INSERT (one statement
 * run per row costs SQLite more than the row itself). */
#define INSERT_ROWS 32
/* A dictionary's statements: INSERT, raise, lower, remove, last Id, and
 * the INSERT of INSERT_ROWS rows. */
#define DICTIONARY_STATEMENTS 6
/* An older compact file's Events, Processes and EventExtras while its
 * records are converted (the old rows' Ids would meet the new rows'). */
#define EVENTS_ASIDE "Events_v3"
#define PROCESSES_ASIDE "Processes_v5"
#define EXTRAS_ASIDE "EventExtras_v5"

struct intern_entry {
	uint64_t hash;
	int64_t id;
	size_t length;
	unsigned char key[];
};

struct intern_key {
	uint64_t hash;
	const unsigned char *data;
	size_t length;
};

struct intern_map {
	struct hashmap by_key, by_id;
	size_t bytes;
};

struct id_list {
	int64_t *ids;
	size_t count, capacity;
};

/* The Timestamps a block of Ids got in this transaction (EventBlocks). */
struct block_summary {
	int64_t block, low, high;
};

struct block_list {
	struct block_summary *items;
	size_t count, capacity;
};

/* A dictionary row made in this transaction, written at commit. */
struct pending_row {
	size_t offset, length; /* its key in pending_rows.keys */
	int64_t id, refs;
};

/*
 * The rows a dictionary gets in this transaction: Ids first_id..next_id-1
 * in order (next_id 0: none given yet), their keys, and their counts.
 * Processes' Ids are given by the caller (cache_layout_process_id), in no
 * order: its rows are found by Id in a sorted copy at commit.
 */
struct pending_rows {
	int64_t first_id, next_id;
	struct strbuf keys;
	struct pending_row *rows;
	size_t count, capacity;
};

struct cache_compact {
	sqlite3 *db;
	sqlite3_stmt *insert_event;
	sqlite3_stmt *insert_extra; /* an EventExtras row */
	sqlite3_stmt *upsert_block;
	sqlite3_stmt *trim_blocks;
	struct block_list blocks;
	sqlite3_stmt *insert[LAYOUT_DICTIONARY_COUNT];
	sqlite3_stmt *insert_many[LAYOUT_DICTIONARY_COUNT]; /* INSERT_ROWS rows */
	sqlite3_stmt *raise[LAYOUT_DICTIONARY_COUNT];
	sqlite3_stmt *lower[LAYOUT_DICTIONARY_COUNT];
	sqlite3_stmt *remove[LAYOUT_DICTIONARY_COUNT];
	sqlite3_stmt *last_id[LAYOUT_DICTIONARY_COUNT];
	struct intern_map maps[LAYOUT_DICTIONARY_COUNT];
	struct pending_rows pending[LAYOUT_DICTIONARY_COUNT];
	struct id_list added[LAYOUT_DICTIONARY_COUNT]; /* references this transaction made */
	struct id_list released[LAYOUT_DICTIONARY_COUNT]; /* references removed */
	struct strbuf key;
	struct layout_split split;
	const struct layout_split *record_split; /* the record's being added */
	int64_t record_id; /* its Events Id */
	bool probe_missed; /* a probing use_row found a row not in the map */
	/* the row each use (but Processes) got in this record, once known */
	struct use_memo {
		bool known;
		int64_t id;
	} memo[LAYOUT_USE_COUNT];
	/* recent execs: the process as its exec's record tells it (pid,
	 * creation time, UniqueId, file, command line, account, logon and
	 * session ids) -> the Events Id, until a Processes row links to it */
	struct intern_map execs;
	uint64_t removed_rows;
};

/* ---- the map from content to Id ------------------------------------------- */

/*
 * Every word is folded in with one multiply and shift (keys are hundreds
 * of bytes: a full mix per word cost more than the lookup); the full mix
 * once at the end spreads the result over the table's bits.
 */
static uint64_t hash_bytes(const unsigned char *data, size_t length)
{
	uint64_t hash = 0x9e3779b97f4a7c15ULL ^ length, word;
	size_t at = 0;

	for (; at + sizeof(word) <= length; at += sizeof(word)) {
		memcpy(&word, data + at, sizeof(word));
		hash = (hash ^ word) * 0xff51afd7ed558ccdULL;
		hash ^= hash >> 32;
	}
	word = 0;
	memcpy(&word, data + at, length - at);
	return hashmap_mix64(hash ^ word);
}

static uint64_t key_hash(const void *key)
{
	return ((const struct intern_key *)key)->hash;
}

static uint64_t entry_hash(const void *entry)
{
	return ((const struct intern_entry *)entry)->hash;
}

static bool entry_has_key(const void *entry, const void *key)
{
	const struct intern_entry *e = entry;
	const struct intern_key *k = key;

	return e->hash == k->hash && e->length == k->length && memcmp(e->key, k->data, k->length) == 0;
}

static uint64_t id_hash(const void *key)
{
	return hashmap_mix64((uint64_t)*(const int64_t *)key);
}

static uint64_t entry_id_hash(const void *entry)
{
	return hashmap_mix64((uint64_t)((const struct intern_entry *)entry)->id);
}

static bool entry_has_id(const void *entry, const void *key)
{
	return ((const struct intern_entry *)entry)->id == *(const int64_t *)key;
}

static const struct hashmap_type by_key_type = {key_hash, entry_hash, entry_has_key};
static const struct hashmap_type by_id_type = {id_hash, entry_id_hash, entry_has_id};

static void map_init(struct intern_map *map)
{
	hashmap_init(&map->by_key, &by_key_type);
	hashmap_init(&map->by_id, &by_id_type);
	map->bytes = 0;
}

static void map_clear(struct intern_map *map)
{
	void *entry;

	for (size_t position = 0; hashmap_next(&map->by_key, &position, &entry);)
		free(entry);
	hashmap_free(&map->by_key);
	hashmap_free(&map->by_id);
	map_init(map);
}

/* Remembers key -> id; on no memory it is simply not remembered. */
static void map_put(struct intern_map *map, const struct intern_key *key, int64_t id)
{
	struct intern_entry *entry;

	if (map->bytes + key->length > INTERN_MAX_BYTES || map->by_key.count >= INTERN_MAX_ENTRIES)
		map_clear(map);
	entry = malloc(sizeof(*entry) + key->length);
	if (!entry)
		return;
	entry->hash = key->hash;
	entry->id = id;
	entry->length = key->length;
	memcpy(entry->key, key->data, key->length);
	if (hashmap_insert(&map->by_key, entry) != 0) {
		free(entry);
		return;
	}
	if (hashmap_insert(&map->by_id, entry) != 0) {
		hashmap_remove(&map->by_key, key);
		free(entry);
		return;
	}
	map->bytes += key->length;
}

static void map_forget_id(struct intern_map *map, int64_t id)
{
	struct intern_entry *entry = hashmap_remove(&map->by_id, &id);

	if (!entry)
		return;
	struct intern_key key = {entry->hash, entry->key, entry->length};

	hashmap_remove(&map->by_key, &key);
	map->bytes -= entry->length;
	free(entry);
}

/* ---- lists of references ---------------------------------------------------- */

static int list_add(struct id_list *list, int64_t id)
{
	if (list->count == list->capacity) {
		size_t capacity = list->capacity ? list->capacity * 2 : 1024;
		int64_t *ids = realloc(list->ids, capacity * sizeof(*ids));

		if (!ids)
			return -ENOMEM;
		list->ids = ids;
		list->capacity = capacity;
	}
	list->ids[list->count++] = id;
	return 0;
}

static int compare_ids(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* ---- the time summary of the blocks written --------------------------------- */

/* Records come in Id order: a block's summary is the list's last one. */
static int note_block(struct block_list *list, int64_t id, int64_t ticks)
{
	int64_t block = id >> CACHE_LAYOUT_BLOCK_SHIFT;
	struct block_summary *last = list->count ? &list->items[list->count - 1] : NULL;

	if (last && last->block == block) {
		if (ticks < last->low)
			last->low = ticks;
		if (ticks > last->high)
			last->high = ticks;
		return 0;
	}
	struct block_summary *items = array_reserve(list->items, &list->capacity, list->count + 1,
						    64, sizeof(*items));

	if (!items)
		return -ENOMEM;
	list->items = items;
	list->items[list->count++] = (struct block_summary){block, ticks, ticks};
	return 0;
}

/* One upsert per block (a block seen twice widens its row twice). */
static int write_blocks(struct cache_compact *compact)
{
	sqlite3_stmt *statement = compact->upsert_block;
	int result = 0;

	for (size_t i = 0; i < compact->blocks.count && result == 0; i++) {
		sqlite3_bind_int64(statement, 1, compact->blocks.items[i].block);
		sqlite3_bind_int64(statement, 2, compact->blocks.items[i].low);
		sqlite3_bind_int64(statement, 3, compact->blocks.items[i].high);
		result = cache_sqlite_run(statement);
	}
	compact->blocks.count = 0;
	return result;
}

/* ---- values ------------------------------------------------------------------- */

/* A decimal string SQLite gives back the same from an INTEGER. */
static bool canonical_integer(const char *text, size_t length, int64_t *out)
{
	size_t at = text && length && text[0] == '-' ? 1 : 0;
	uint64_t value = 0;

	if (!text || length == at || length - at > 19 || (text[at] == '0' && (length - at > 1 || at)))
		return false;
	for (; at < length; at++) {
		if (text[at] < '0' || text[at] > '9')
			return false;
		value = value * 10 + (uint64_t)(text[at] - '0');
	}
	if (text[0] == '-') {
		if (value > (uint64_t)INT64_MAX + 1)
			return false;
		*out = (int64_t)(0 - value);
	} else {
		if (value > (uint64_t)INT64_MAX)
			return false;
		*out = (int64_t)value;
	}
	return true;
}

static void bind_numeric_text(sqlite3_stmt *statement, int index, const char *text, size_t length)
{
	int64_t number;

	if (canonical_integer(text, length, &number))
		sqlite3_bind_int64(statement, index, number);
	else
		sqlite3_bind_text(statement, index, text, (int)length, SQLITE_STATIC);
}

static struct value text_value(const char *text, size_t length)
{
	struct value value = {.type = VALUE_STRING, .is_null = false};

	value.str = text;
	value.len = length;
	return value;
}

static struct value id_value(int64_t id)
{
	struct value value = {.type = VALUE_LONG, .is_null = id <= 0};

	value.l = id;
	return value;
}

/*
 * The bytes that say a value: type, null, then a string's length and
 * bytes, or a number: one fixed head and at most one more copy.
 */
static void key_append(struct strbuf *key, const struct value *value)
{
	unsigned char head[2 + sizeof(uint64_t)] = {(unsigned char)value->type, value->is_null};
	bool string = value->type == VALUE_STRING;
	size_t length = sizeof(head) + (string ? value->len : 0);
	uint64_t word = 0;

	if (string) {
		word = value->len;
	} else if (!value->is_null) {
		int64_t number = value->type == VALUE_BOOL ? value->b : value->l;

		if (value->type == VALUE_REAL)
			memcpy(&number, &value->r, sizeof(number));
		word = (uint64_t)number;
	}
	memcpy(head + 2, &word, sizeof(word));
	if (!strbuf_reserve(key, length))
		return;
	memcpy(key->data + key->length, head, sizeof(head));
	if (string && value->len)
		memcpy(key->data + key->length + sizeof(head), value->str, value->len);
	key->length += length;
	key->data[key->length] = '\0';
}

/* ---- dictionaries --------------------------------------------------------------- */

/* The map key of the bytes key_append wrote, hashed. */
static struct intern_key key_of(const struct strbuf *key)
{
	struct intern_key out = {0, (const unsigned char *)strbuf_text(key), key->length};

	out.hash = hash_bytes(out.data, out.length);
	return out;
}

/* Whether the writer gives a dictionary's rows their Ids (Processes'). */
static bool explicit_ids(enum layout_dictionary dictionary)
{
	return dictionary == LAYOUT_PROCESSES;
}

/* The parameters of one row of a dictionary's INSERT: Refs, the fields,
 * and the Id when the writer gives it. */
static size_t row_parameters(enum layout_dictionary dictionary)
{
	return layout_dictionaries[dictionary].field_count + 1 + (explicit_ids(dictionary) ? 1 : 0);
}

/* The first Id this transaction gives a new row of dictionary. */
static int first_new_id(struct cache_compact *compact, enum layout_dictionary dictionary,
			int64_t *id)
{
	sqlite3_stmt *statement = compact->last_id[dictionary];
	int code = sqlite3_step(statement);

	*id = code == SQLITE_ROW ? sqlite3_column_int64(statement, 0) + 1 : 0;
	sqlite3_reset(statement);
	return code == SQLITE_ROW ? 0 : cache_sqlite_errno(code);
}

/*
 * A new row: its Id now (the next after the table's largest), its INSERT
 * at commit with every reference the transaction made to it counted
 * (cache_compact_flush): no row is written twice.
 */
static int add_pending(struct cache_compact *compact, enum layout_dictionary dictionary,
		       const struct intern_key *key, int64_t given, int64_t *id)
{
	struct pending_rows *pending = &compact->pending[dictionary];
	struct pending_row *rows;
	int result = 0;

	if (given == 0 && pending->next_id == 0) {
		result = first_new_id(compact, dictionary, &pending->next_id);
		pending->first_id = pending->next_id;
	}
	if (result)
		return result;
	rows = array_reserve(pending->rows, &pending->capacity, pending->count + 1, 256,
			     sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	pending->rows = rows;
	*id = given ? given : pending->next_id++;
	pending->rows[pending->count] =
		(struct pending_row){pending->keys.length, key->length, *id, 1};
	strbuf_append(&pending->keys, (const char *)key->data, key->length);
	if (pending->keys.failed)
		return -ENOMEM;
	pending->count++;
	return 0;
}

static int compare_pending(const void *a, const void *b)
{
	int64_t x = ((const struct pending_row *)a)->id, y = ((const struct pending_row *)b)->id;

	return (x > y) - (x < y);
}

/* The pending row of Id id, or NULL (an older row); explicit Ids: the
 * rows sorted by Id (raise_counts). */
static struct pending_row *pending_row_of(struct pending_rows *pending, bool explicit_id,
					  int64_t id)
{
	struct pending_row probe = {.id = id};

	if (pending->count == 0)
		return NULL;
	if (!explicit_id)
		return id >= pending->first_id && id < pending->next_id
			       ? &pending->rows[id - pending->first_id]
			       : NULL;
	return bsearch(&probe, pending->rows, pending->count, sizeof(probe), compare_pending);
}

/* The values key_append wrote, back (strings point into key). */
static void key_decode(const unsigned char *key, struct value *fields, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		uint64_t word;

		fields[i] = (struct value){.type = (enum value_type)key[0], .is_null = key[1] != 0};
		memcpy(&word, key + 2, sizeof(word));
		key += 2 + sizeof(word);
		if (fields[i].type == VALUE_STRING) {
			fields[i].str = (const char *)key;
			fields[i].len = (size_t)word;
			key += word;
		} else if (fields[i].type == VALUE_BOOL) {
			fields[i].b = word != 0;
		} else if (fields[i].type == VALUE_REAL) {
			memcpy(&fields[i].r, &word, sizeof(word));
		} else {
			fields[i].l = (int64_t)word;
		}
	}
}

/*
 * A pending row's values bound as the row at of a (multi-row) INSERT: its
 * Refs, its fields, and its Id when the writer gives it (Processes').
 */
static void bind_row(struct cache_compact *compact, enum layout_dictionary dictionary,
		     sqlite3_stmt *statement, size_t at, const struct pending_row *row)
{
	const struct layout_dictionary_def *def = &layout_dictionaries[dictionary];
	struct value fields[LAYOUT_MAX_FIELDS];
	int first = (int)(at * row_parameters(dictionary)) + 1;

	key_decode((const unsigned char *)strbuf_text(&compact->pending[dictionary].keys) +
			   row->offset,
		   fields, def->field_count);
	sqlite3_bind_int64(statement, first, row->refs);
	if (explicit_ids(dictionary))
		sqlite3_bind_int64(statement, first + (int)def->field_count + 1, row->id);
	for (size_t i = 0; i < def->field_count; i++) {
		if ((int)i == def->numeric_text_field && fields[i].type == VALUE_STRING)
			bind_numeric_text(statement, first + (int)i + 1, fields[i].str, fields[i].len);
		else
			cache_sqlite_bind_value(statement, first + (int)i + 1, &fields[i]);
	}
}

/*
 * count pending rows from the first, in one INSERT (count is 1 or
 * INSERT_ROWS).  Each row is given the Id SQLite gives a row without one
 * (one more than the table's largest), which is the Id add_pending handed
 * out: the rows go in in Id order and nothing else adds rows in the
 * transaction.  An explicit Id would cost SQLite a lookup per row: only
 * Processes' rows, whose Ids say what they link to, are written with
 * theirs (in Id order, raise_counts sorts them).
 */
static int insert_rows(struct cache_compact *compact, enum layout_dictionary dictionary,
		       const struct pending_row *first, size_t count)
{
	sqlite3_stmt *statement = count == 1 ? compact->insert[dictionary]
					     : compact->insert_many[dictionary];
	int64_t last = first[count - 1].id;
	int result;

	for (size_t i = 0; i < count; i++)
		bind_row(compact, dictionary, statement, i, &first[i]);
	result = cache_sqlite_run(statement);
	if (result == 0 && sqlite3_last_insert_rowid(compact->db) != last) {
		log_error("cache: %s row got Id %lld, not %lld",
			  layout_dictionaries[dictionary].table,
			  (long long)sqlite3_last_insert_rowid(compact->db), (long long)last);
		result = -EIO;
	}
	return result;
}

/* At commit: the new rows, with their counts, INSERT_ROWS to a statement. */
static int write_pending(struct cache_compact *compact, enum layout_dictionary dictionary)
{
	struct pending_rows *pending = &compact->pending[dictionary];
	int result = 0;

	for (size_t at = 0, count; at < pending->count && result == 0; at += count) {
		count = pending->count - at >= INSERT_ROWS ? INSERT_ROWS : 1;
		result = insert_rows(compact, dictionary, &pending->rows[at], count);
	}
	pending->count = 0;
	pending->next_id = 0;
	strbuf_clear(&pending->keys);
	return result;
}

/*
 * The Id of a row holding fields (found or added: *added, with Id given
 * or, given 0, the next), not yet counted as referenced.  link: the Events
 * Id a linked Processes row takes its other fields from, in the key too
 * (NULL: not linked).  A probe only looks: a row not in the map is not
 * added (Id 0, and compact->probe_missed says so).
 */
static int find_or_add(struct cache_compact *compact, enum layout_dictionary dictionary,
		       const struct value *fields, const struct value *link, int64_t given,
		       bool probe, int64_t *id, bool *added)
{
	const struct layout_dictionary_def *def = &layout_dictionaries[dictionary];
	struct intern_map *map = &compact->maps[dictionary];
	struct intern_key key;
	const struct intern_entry *entry;
	int result = 0;

	strbuf_clear(&compact->key);
	for (size_t i = 0; i < def->field_count; i++)
		key_append(&compact->key, &fields[i]);
	if (link)
		key_append(&compact->key, link);
	if (compact->key.failed)
		return -ENOMEM;
	key = key_of(&compact->key);
	entry = hashmap_get(&map->by_key, &key);
	*added = entry == NULL && !probe;
	if (entry) {
		*id = entry->id;
	} else if (probe) {
		*id = 0;
		compact->probe_missed = true;
	} else {
		result = add_pending(compact, dictionary, &key, given, id);
		if (result == 0)
			map_put(map, &key, *id);
	}
	return result;
}

/*
 * The same, counted as referenced once more: a new row is pending with
 * Refs 1 (this reference); further references are counted at commit.
 */
static int intern(struct cache_compact *compact, enum layout_dictionary dictionary,
		  const struct value *fields, int64_t *id)
{
	bool added = false;
	int result = find_or_add(compact, dictionary, fields, NULL, 0, false, id, &added);

	return result || added ? result : list_add(&compact->added[dictionary], *id);
}

/* The part of AdditionalFields a use's field holds, or -1. */
static int part_of_field(int use, size_t field)
{
	for (int part = 0; part < LAYOUT_PART_COUNT; part++) {
		const struct layout_part_def *def = &layout_parts[part];

		if (def->use == use && (def->kind == PART_TEXT || def->field == (int)field))
			return part;
	}
	return -1;
}

/* A number part as a dictionary field: an INTEGER when it is one. */
static struct value number_value(const char *text, size_t length)
{
	struct value value = {.type = VALUE_LONG, .is_null = text == NULL};

	if (text && !canonical_integer(text, length, &value.l))
		value = text_value(text, length);
	return value;
}

/* The fact class whose runs a use of Facts holds, or NULL. */
static const struct layout_fact_class *fact_class_of(int use)
{
	for (int class = 0; class < LAYOUT_FACT_CLASSES; class++)
		if (layout_fact_classes[class].use == use)
			return &layout_fact_classes[class];
	return NULL;
}

/* A field of a use of Facts: the record's run of the use's class (NULL
 * when the record has no such run). */
static struct value fact_value(int use, size_t field, const struct layout_split *split)
{
	const struct layout_fact_class *def = fact_class_of(use);
	size_t run = def ? (size_t)def->first_run + field : 0;

	if (def && field < (size_t)def->runs && split->fact[run])
		return text_value(split->fact[run], split->fact_length[run]);
	return id_value(0);
}

/* Whether the record has a run of facts for a use of Facts. */
static bool has_facts(int use, const struct layout_split *split)
{
	const struct layout_fact_class *def = fact_class_of(use);

	for (int run = def ? def->first_run : 0; def && run < def->first_run + def->runs; run++)
		if (split->fact[run])
			return true;
	return false;
}

/* A creation time as its distance below base (0 when base is NULL). */
static struct value creation_delta(const struct value *base, const struct value *time)
{
	struct value delta = {.type = VALUE_LONG, .is_null = time->is_null};

	if (!time->is_null)
		delta.l = (base->is_null ? 0 : base->ticks) - time->ticks;
	return delta;
}

/* ---- linked Processes rows ---------------------------------------------------------- */

/*
 * The key of a process as its exec's record tells it (exec) or as a
 * snapshot of it as an initiating process does (!exec): every value a
 * linked row takes from the exec, so equal keys say a link gives back the
 * snapshot's values.  false: no pid, creation time or UniqueId (a linked
 * row still linked is told by its NULL ProcessId), or no memory.
 */
static bool process_key(struct strbuf *key, const struct value *values, bool exec)
{
	const struct layout_use_def *process = &layout_uses[USE_PROCESS];

	strbuf_clear(key);
	for (int i = 0; i < LAYOUT_PROCESS_LINKS; i++) {
		const struct layout_process_link *link = &layout_process_links[i];

		if (link->exec_use >= 0) {
			const struct layout_use_def *use =
				&layout_uses[exec ? link->exec_use : process->ref_uses[link->field]];

			for (size_t f = 0; f < layout_dictionaries[use->dictionary].field_count; f++)
				if (use->columns[f] >= 0)
					key_append(key, &values[use->columns[f]]);
			continue;
		}
		const struct value *value =
			&values[exec ? link->exec_column : process->columns[link->field]];

		if (value->is_null && (link->exec_column == DPE_PROCESS_ID ||
				       link->exec_column == DPE_PROCESS_CREATION_TIME ||
				       link->exec_column == DPE_PROCESS_UNIQUE_ID))
			return false;
		key_append(key, value);
	}
	return !key->failed;
}

/* process_key in compact->key, hashed for the map of recent execs. */
static bool exec_map_key(struct cache_compact *compact, const struct value *values, bool exec,
			 struct intern_key *key)
{
	if (!process_key(&compact->key, values, exec))
		return false;
	*key = key_of(&compact->key);
	return true;
}

/* The Events Id of the initiating process's exec in the map, or 0;
 * negative when a row links to it already (mark_exec_linked). */
static int64_t linked_exec(struct cache_compact *compact, const struct value *values)
{
	struct intern_key key;
	const struct intern_entry *entry;

	if (!exec_map_key(compact, values, false, &key))
		return 0;
	entry = hashmap_get(&compact->execs.by_key, &key);
	return entry ? entry->id : 0;
}

/* Record id (stored) is an exec a later snapshot may link to. */
static void remember_exec(struct cache_compact *compact, int64_t id, const struct value *values)
{
	struct intern_key key;
	const struct intern_entry *entry;

	if (!exec_map_key(compact, values, true, &key))
		return;
	entry = hashmap_get(&compact->execs.by_key, &key);
	if (entry)
		map_forget_id(&compact->execs, entry->id); /* the latest exec wins */
	map_put(&compact->execs, &key, id);
}

/* A row links to exec: a snapshot of it that is not that row's is not
 * linked (its Id would be the same). */
static void mark_exec_linked(struct cache_compact *compact, const struct value *values,
			     int64_t exec)
{
	struct intern_key key;

	map_forget_id(&compact->execs, exec);
	if (!exec_map_key(compact, values, false, &key))
		return;
	map_put(&compact->execs, &key, -exec);
}

static int fill_row(struct cache_compact *compact, int use, const struct value *values,
		    int64_t exec, bool probe, int64_t *id, bool *added);

/*
 * A row of the snapshot known to the maps (linked to exec, or not linked:
 * exec 0), found by probing them, nothing added: its Id, or 0.
 */
static int known_process(struct cache_compact *compact, int use, const struct value *values,
			 int64_t exec, int64_t *id)
{
	bool added = false;
	int result;

	compact->probe_missed = false;
	result = fill_row(compact, use, values, exec, true, id, &added);
	if (compact->probe_missed)
		*id = 0;
	return result;
}

/*
 * The row of a use filled from the record (found or added: *added; Id 0
 * when it holds nothing: a text part the record does not have).  The rows
 * it refers to (a process's file, a session's account...) are referenced
 * once by each row of it: counted only when it is new, and then only those
 * that are not new themselves (a new row of them always makes a new row of
 * it, as its Id is in the key, and is pending with Refs 1 for it).  A
 * probe adds and counts nothing (find_or_add).
 *
 * A use's row is found once a record: the Processes row is looked for up
 * to three times (process_row), each time with the same file, account,
 * command line... which the memo gives back (never as added: its one
 * owner, a new row, counted it when it was added).
 */
static int use_row(struct cache_compact *compact, int use, const struct value *values, bool probe,
		   int64_t *id, bool *added)
{
	struct use_memo *memo = &compact->memo[use];
	bool missed_before = compact->probe_missed;
	int result;

	if (memo->known) {
		*id = memo->id;
		*added = false;
		return 0;
	}
	compact->probe_missed = false;
	result = fill_row(compact, use, values, 0, probe, id, added);
	if (result == 0 && !compact->probe_missed)
		*memo = (struct use_memo){true, *id};
	compact->probe_missed = compact->probe_missed || missed_before;
	return result;
}

/*
 * The initiating process's row.  Linked to its exec's Events row when the
 * map has that exec (linked_exec) and no row of the snapshot is known that
 * is not linked (one made before the exec came): the row that links to it
 * already, or a new one if none does; else not linked.
 */
static int process_row(struct cache_compact *compact, int use, const struct value *values,
		       int64_t *id, bool *added)
{
	int64_t exec = linked_exec(compact, values);
	int result = 0;

	*id = 0;
	*added = false;
	if (exec)
		result = known_process(compact, use, values, 0, id);
	if (result || *id)
		return result;
	if (exec < 0) {
		result = known_process(compact, use, values, -exec, id);
		if (result || *id)
			return result;
		exec = 0;
	}
	return fill_row(compact, use, values, exec, false, id, added);
}

static int fill_row(struct cache_compact *compact, int use, const struct value *values,
		    int64_t exec, bool probe, int64_t *id, bool *added)
{
	const struct layout_use_def *def = &layout_uses[use];
	const struct layout_split *split = compact->record_split;
	size_t count = layout_dictionaries[def->dictionary].field_count;
	struct value fields[LAYOUT_MAX_FIELDS] = {0};
	bool child_new[LAYOUT_MAX_FIELDS] = {false};
	bool processes = def->dictionary == LAYOUT_PROCESSES;
	int result = 0;

	*id = 0;
	*added = false;
	if (def->dictionary == LAYOUT_FACTS && !has_facts(use, split))
		return 0; /* no row for nothing */
	for (size_t i = 0; i < count && result == 0; i++) {
		int part = def->columns[i] == LAYOUT_FIELD_OTHER ? part_of_field(use, i) : -1;

		if (exec && cache_layout_process_link(i)) {
			fields[i] = id_value(0); /* NULL: the exec's record has it */
		} else if (def->columns[i] >= 0) {
			fields[i] = values[def->columns[i]];
		} else if (def->columns[i] == LAYOUT_FIELD_REF) {
			int64_t child_id = 0;

			result = use_row(compact, def->ref_uses[i], values, probe, &child_id,
					 &child_new[i]);
			fields[i] = id_value(child_id);
		} else if (part >= 0 && layout_parts[part].kind == PART_TEXT) {
			if (!split->part[part])
				return 0;
			fields[i] = text_value(split->part[part], split->part_length[part]);
		} else if (part >= 0) {
			fields[i] = number_value(split->part[part], split->part_length[part]);
		} else {
			fields[i] = fact_value(use, i, split);
		}
	}
	if (processes)
		fields[LAYOUT_PROCESS_PARENT_CREATION_FIELD] =
			creation_delta(&values[def->columns[LAYOUT_PROCESS_CREATION_FIELD]],
				       &fields[LAYOUT_PROCESS_PARENT_CREATION_FIELD]);
	if (result == 0) {
		struct value link = id_value(exec);
		int64_t given = !processes ? 0
				: exec	   ? cache_layout_linked_process_id(exec)
					   : cache_layout_process_id(compact->record_id);

		result = find_or_add(compact, def->dictionary, fields, exec ? &link : NULL, given, probe,
				     id, added);
		if (result == 0 && exec && *added)
			mark_exec_linked(compact, values, exec);
	}
	for (size_t i = 0; i < count && result == 0 && *added; i++)
		if (def->columns[i] == LAYOUT_FIELD_REF && !child_new[i] && !fields[i].is_null)
			result = list_add(&compact->added[layout_uses[def->ref_uses[i]].dictionary],
					  fields[i].l);
	return result;
}

/* A reference of Events to a use, counted (as intern): its row's Id (0: none). */
static int event_reference(struct cache_compact *compact, int use, const struct value *values,
			   int64_t *id)
{
	const struct layout_split *split = compact->record_split;
	bool added = false;
	int result;

	if (use == USE_SHAPE) {
		struct value field = text_value(strbuf_text(&split->shape), split->shape.length);

		*id = 0;
		return split->split ? intern(compact, LAYOUT_SHAPES, &field, id) : 0;
	}
	result = use == USE_PROCESS ? process_row(compact, use, values, id, &added)
				    : use_row(compact, use, values, false, id, &added);
	return result || added || *id == 0
		       ? result
		       : list_add(&compact->added[layout_uses[use].dictionary], *id);
}

/* ---- Events ------------------------------------------------------------------------ */

static bool is_process_id(const char *text, size_t length, const struct value *process_id)
{
	int64_t number;

	return !process_id->is_null && canonical_integer(text, length, &number) &&
	       number == process_id->l;
}

/* The part's text is that of the part before it (present). */
static bool is_previous_part(const struct layout_split *split, int part)
{
	return split->part[part - 1] && split->part_length[part - 1] == split->part_length[part] &&
	       memcmp(split->part[part - 1], split->part[part], split->part_length[part]) == 0;
}

/*
 * The number parts, each in its column of Events or EventExtras (NULL when
 * absent or implied); the text kept whole when it was not split.  Whether
 * the record needs an EventExtras row.
 */
static bool bind_parts(struct cache_compact *compact, const struct value *values)
{
	const struct layout_split *split = compact->record_split;
	const struct value *fields = &values[DPE_ADDITIONAL_FIELDS];
	bool extra = !split->split;

	for (int part = 0; part < LAYOUT_NUMBER_PARTS; part++) {
		const struct layout_part_def *def = &layout_parts[part];
		sqlite3_stmt *statement = def->rare ? compact->insert_extra : compact->insert_event;
		const char *text = split->part[part];
		size_t length = split->part_length[part];

		if (!text || (def->kind == PART_PROCESS_ID &&
			      is_process_id(text, length, &values[DPE_PROCESS_ID])) ||
		    (def->kind == PART_SAME_AS_PREVIOUS && is_previous_part(split, part))) {
			sqlite3_bind_null(statement, def->field + 1);
			continue;
		}
		bind_numeric_text(statement, def->field + 1, text, length);
		extra = extra || def->rare;
	}
	if (split->split)
		sqlite3_bind_null(compact->insert_extra, EXTRA_RAW + 1);
	else
		sqlite3_bind_text(compact->insert_extra, EXTRA_RAW + 1, fields->str,
				  (int)fields->len, SQLITE_STATIC);
	return extra;
}

/* Binds the Events row's own columns; whether an EventExtras row is needed. */
static bool bind_event_columns(struct cache_compact *compact, int64_t id,
			       const struct value *values)
{
	sqlite3_stmt *statement = compact->insert_event;
	const struct value *timestamp = &values[DPE_TIMESTAMP];
	const struct value *creation = &values[DPE_PROCESS_CREATION_TIME];

	sqlite3_bind_int64(statement, EVENT_ID + 1, id);
	cache_sqlite_bind_value(statement, EVENT_TIMESTAMP + 1, timestamp);
	cache_sqlite_bind_value(statement, EVENT_PROCESS_ID + 1, &values[DPE_PROCESS_ID]);
	if (creation->is_null)
		sqlite3_bind_null(statement, EVENT_CREATION_DELTA + 1);
	else
		sqlite3_bind_int64(statement, EVENT_CREATION_DELTA + 1,
				   (timestamp->is_null ? 0 : timestamp->ticks) - creation->ticks);
	cache_sqlite_bind_value(statement, EVENT_REPORT_ID + 1, &values[DPE_REPORT_ID]);
	bind_numeric_text(statement, EVENT_UNIQUE_ID + 1, values[DPE_PROCESS_UNIQUE_ID].str,
			  values[DPE_PROCESS_UNIQUE_ID].len);
	sqlite3_bind_int64(compact->insert_extra, EXTRA_ID + 1, id);
	return bind_parts(compact, values);
}

/* split: AdditionalFields of values split (cache_layout_split). */
static int add_split(struct cache_compact *compact, int64_t id, const struct value *values,
		     const struct layout_split *split)
{
	int uses[LAYOUT_USE_COUNT];
	size_t count = cache_layout_event_uses(uses);
	int result = 0;

	compact->record_split = split;
	compact->record_id = id;
	memset(compact->memo, 0, sizeof(compact->memo));
	for (size_t i = 0; i < count && result == 0; i++) {
		int64_t reference = 0;

		result = event_reference(compact, uses[i], values, &reference);
		if (reference > 0)
			sqlite3_bind_int64(compact->insert_event, EVENT_FIRST_REF + (int)i + 1, reference);
		else
			sqlite3_bind_null(compact->insert_event, EVENT_FIRST_REF + (int)i + 1);
	}
	if (result == 0 && !values[DPE_TIMESTAMP].is_null)
		result = note_block(&compact->blocks, id, values[DPE_TIMESTAMP].ticks);
	if (result)
		return result;
	bool extra = bind_event_columns(compact, id, values);

	result = cache_sqlite_run(compact->insert_event);
	if (result == 0 && extra)
		result = cache_sqlite_run(compact->insert_extra);
	if (result == 0)
		remember_exec(compact, id, values);
	return result;
}

static int add_values(struct cache_compact *compact, int64_t id, const struct value *values)
{
	const struct value *fields = &values[DPE_ADDITIONAL_FIELDS];

	cache_layout_split(fields->str, fields->len, &compact->split);
	return add_split(compact, id, values, &compact->split);
}

int cache_compact_add(struct cache_compact *compact, int64_t id, const struct record *record)
{
	return add_values(compact, id, record->values);
}

int cache_compact_add_values(struct cache_compact *compact, int64_t id,
			     const struct value values[DPE_COLUMN_COUNT])
{
	return add_values(compact, id, values);
}

int cache_compact_add_split(struct cache_compact *compact, int64_t id,
			    const struct value values[DPE_COLUMN_COUNT],
			    const struct layout_split *split)
{
	return add_split(compact, id, values, split);
}

/* ---- counts ----------------------------------------------------------------------- */

/*
 * The counts of the references this transaction made: to a row it made,
 * added to the row before it is written; to an older row, one UPDATE per
 * row.
 */
static int raise_counts(struct cache_compact *compact, enum layout_dictionary dictionary)
{
	struct id_list *list = &compact->added[dictionary];
	struct pending_rows *pending = &compact->pending[dictionary];
	sqlite3_stmt *statement = compact->raise[dictionary];
	bool explicit_id = explicit_ids(dictionary);
	int result = 0;

	qsort(list->ids, list->count, sizeof(*list->ids), compare_ids);
	if (explicit_id)
		qsort(pending->rows, pending->count, sizeof(*pending->rows), compare_pending);
	for (size_t at = 0, next; at < list->count && result == 0; at = next) {
		int64_t id = list->ids[at];
		struct pending_row *row;

		for (next = at + 1; next < list->count && list->ids[next] == id;)
			next++;
		row = pending_row_of(pending, explicit_id, id);
		if (row) {
			row->refs += (int64_t)(next - at);
			continue;
		}
		sqlite3_bind_int64(statement, 1, (sqlite3_int64)(next - at));
		sqlite3_bind_int64(statement, 2, id);
		result = cache_sqlite_run(statement);
	}
	list->count = 0;
	return result;
}

int cache_compact_flush(struct cache_compact *compact)
{
	int result = 0;

	for (int d = 0; d < LAYOUT_DICTIONARY_COUNT && result == 0; d++) {
		result = raise_counts(compact, (enum layout_dictionary)d);
		if (result == 0)
			result = write_pending(compact, (enum layout_dictionary)d);
	}
	return result ? result : write_blocks(compact);
}

void cache_compact_forget(struct cache_compact *compact)
{
	map_clear(&compact->execs);
	for (int d = 0; d < LAYOUT_DICTIONARY_COUNT; d++) {
		map_clear(&compact->maps[d]);
		compact->added[d].count = 0;
		compact->released[d].count = 0;
		compact->pending[d].count = 0;
		compact->pending[d].next_id = 0;
		strbuf_clear(&compact->pending[d].keys);
	}
	compact->blocks.count = 0;
}

int cache_compact_delete_events(struct cache_compact *compact, sqlite3_stmt *statement)
{
	int uses[LAYOUT_USE_COUNT];
	size_t count = cache_layout_event_uses(uses);
	int code, rows = 0, result = 0;

	while ((code = sqlite3_step(statement)) == SQLITE_ROW && result == 0) {
		int64_t id = sqlite3_column_int64(statement, (int)count);

		rows++;
		for (size_t i = 0; i < count && result == 0; i++)
			if (sqlite3_column_type(statement, (int)i) != SQLITE_NULL)
				result = list_add(&compact->released[layout_uses[uses[i]].dictionary],
						  sqlite3_column_int64(statement, (int)i));
		/* no snapshot links to a deleted exec */
		map_forget_id(&compact->execs, id);
		map_forget_id(&compact->execs, -id);
	}
	if (result == 0 && code != SQLITE_DONE)
		result = cache_sqlite_errno(code);
	sqlite3_reset(statement);
	return result ? result : rows;
}

/* One row deleted: its own references go back too. */
static int remove_row(struct cache_compact *compact, enum layout_dictionary dictionary, int64_t id)
{
	sqlite3_stmt *statement = compact->remove[dictionary];
	int uses[LAYOUT_MAX_FIELDS];
	size_t count = cache_layout_dictionary_references(dictionary, uses);
	int code, result = 0;

	sqlite3_bind_int64(statement, 1, id);
	code = sqlite3_step(statement);
	if (code == SQLITE_ROW) {
		for (size_t i = 0; i < count && result == 0; i++)
			if (sqlite3_column_type(statement, (int)i) != SQLITE_NULL)
				result = list_add(&compact->released[layout_uses[uses[i]].dictionary],
						  sqlite3_column_int64(statement, (int)i));
		code = sqlite3_step(statement);
	}
	sqlite3_reset(statement);
	if (result == 0)
		result = cache_sqlite_errno(code);
	map_forget_id(&compact->maps[dictionary], id);
	compact->removed_rows++;
	return result;
}

/* Lowers id's count by amount; a row no one refers to goes. */
static int release_row(struct cache_compact *compact, enum layout_dictionary dictionary,
		       int64_t id, int64_t amount)
{
	sqlite3_stmt *statement = compact->lower[dictionary];
	int64_t left = 1;
	int code;

	sqlite3_bind_int64(statement, 1, amount);
	sqlite3_bind_int64(statement, 2, id);
	code = sqlite3_step(statement);
	if (code == SQLITE_ROW) {
		left = sqlite3_column_int64(statement, 0);
		code = sqlite3_step(statement);
	}
	sqlite3_reset(statement);
	if (code != SQLITE_DONE)
		return cache_sqlite_errno(code);
	return left <= 0 ? remove_row(compact, dictionary, id) : 0;
}

int cache_compact_release(struct cache_compact *compact)
{
	int result = 0;

	/* Processes first: the rows it removes release Files, Accounts, Texts */
	for (int d = 0; d < LAYOUT_DICTIONARY_COUNT && result == 0; d++) {
		struct id_list *list = &compact->released[d];

		qsort(list->ids, list->count, sizeof(*list->ids), compare_ids);
		for (size_t at = 0, next; at < list->count && result == 0; at = next) {
			for (next = at + 1; next < list->count && list->ids[next] == list->ids[at];)
				next++;
			result = release_row(compact, (enum layout_dictionary)d, list->ids[at],
					     (int64_t)(next - at));
		}
		list->count = 0;
	}
	/* the blocks no record is left in go */
	return result ? result : cache_sqlite_run(compact->trim_blocks);
}

uint64_t cache_compact_dictionary_rows_removed(const struct cache_compact *compact)
{
	return compact->removed_rows;
}

/* ---- statements -------------------------------------------------------------------- */

static int prepare(sqlite3 *db, const struct strbuf *sql, sqlite3_stmt **statement)
{
	if (sql->failed)
		return -ENOMEM;
	return cache_sqlite_errno(sqlite3_prepare_v3(db, strbuf_text(sql), -1,
						     SQLITE_PREPARE_PERSISTENT, statement, NULL));
}

/* INSERT of rows rows of a dictionary (bind_row binds each). */
static void insert_sql(enum layout_dictionary dictionary, size_t rows, struct strbuf *sql)
{
	const struct layout_dictionary_def *def = &layout_dictionaries[dictionary];

	strbuf_appendf(sql, "INSERT INTO %s (Refs", def->table);
	for (size_t i = 0; i < def->field_count; i++)
		strbuf_appendf(sql, ", %s", def->fields[i]);
	strbuf_append_string(sql, explicit_ids(dictionary) ? ", Id) VALUES " : ") VALUES ");
	for (size_t row = 0; row < rows; row++) {
		strbuf_append_string(sql, row ? ", (?" : "(?");
		for (size_t i = 1; i < row_parameters(dictionary); i++)
			strbuf_append_string(sql, ", ?");
		strbuf_append_char(sql, ')');
	}
}

static void dictionary_sql(enum layout_dictionary dictionary, struct strbuf sql[DICTIONARY_STATEMENTS])
{
	const struct layout_dictionary_def *def = &layout_dictionaries[dictionary];
	int uses[LAYOUT_MAX_FIELDS];
	size_t count = cache_layout_dictionary_references(dictionary, uses);

	insert_sql(dictionary, 1, &sql[0]);
	insert_sql(dictionary, INSERT_ROWS, &sql[5]);
	strbuf_appendf(&sql[1], "UPDATE %s SET Refs = Refs + ?1 WHERE Id = ?2", def->table);
	strbuf_appendf(&sql[2], "UPDATE %s SET Refs = Refs - ?1 WHERE Id = ?2 RETURNING Refs",
		       def->table);
	strbuf_appendf(&sql[3], "DELETE FROM %s WHERE Id = ?1", def->table);
	for (size_t i = 0; i < count; i++)
		strbuf_appendf(&sql[3], "%s%s", i ? ", " : " RETURNING ", layout_uses[uses[i]].reference);
	strbuf_appendf(&sql[4], "SELECT coalesce(max(Id), 0) FROM %s", def->table);
}

static int prepare_dictionary(struct cache_compact *compact, enum layout_dictionary dictionary)
{
	struct strbuf sql[DICTIONARY_STATEMENTS];
	sqlite3_stmt **targets[DICTIONARY_STATEMENTS] = {
		&compact->insert[dictionary], &compact->raise[dictionary],
		&compact->lower[dictionary],  &compact->remove[dictionary],
		&compact->last_id[dictionary], &compact->insert_many[dictionary]};
	int result = 0;

	for (int i = 0; i < DICTIONARY_STATEMENTS; i++)
		strbuf_init(&sql[i]);
	dictionary_sql(dictionary, sql);
	for (int i = 0; i < DICTIONARY_STATEMENTS && result == 0; i++)
		result = prepare(compact->db, &sql[i], targets[i]);
	for (int i = 0; i < DICTIONARY_STATEMENTS; i++)
		strbuf_free(&sql[i]);
	return result;
}

int cache_compact_open(struct cache_compact **out, sqlite3 *db)
{
	struct cache_compact *compact = calloc(1, sizeof(*compact));
	struct strbuf sql;
	int result;

	if (!compact)
		return -ENOMEM;
	compact->db = db;
	strbuf_init(&compact->key);
	strbuf_init(&compact->split.shape);
	map_init(&compact->execs);
	for (int d = 0; d < LAYOUT_DICTIONARY_COUNT; d++) {
		map_init(&compact->maps[d]);
		strbuf_init(&compact->pending[d].keys);
	}
	strbuf_init(&sql);
	cache_layout_events_insert_sql(&sql);
	result = prepare(db, &sql, &compact->insert_event);
	strbuf_clear(&sql);
	cache_layout_extras_insert_sql(&sql);
	if (result == 0)
		result = prepare(db, &sql, &compact->insert_extra);
	strbuf_clear(&sql);
	strbuf_append_string(&sql, CACHE_LAYOUT_BLOCK_UPSERT);
	if (result == 0)
		result = prepare(db, &sql, &compact->upsert_block);
	strbuf_clear(&sql);
	strbuf_append_string(&sql, CACHE_LAYOUT_BLOCKS_TRIM);
	if (result == 0)
		result = prepare(db, &sql, &compact->trim_blocks);
	strbuf_free(&sql);
	for (int d = 0; d < LAYOUT_DICTIONARY_COUNT && result == 0; d++)
		result = prepare_dictionary(compact, (enum layout_dictionary)d);
	if (result) {
		cache_compact_close(compact);
		return result;
	}
	*out = compact;
	return 0;
}

void cache_compact_close(struct cache_compact *compact)
{
	if (!compact)
		return;
	sqlite3_finalize(compact->insert_event);
	sqlite3_finalize(compact->insert_extra);
	sqlite3_finalize(compact->upsert_block);
	sqlite3_finalize(compact->trim_blocks);
	free(compact->blocks.items);
	for (int d = 0; d < LAYOUT_DICTIONARY_COUNT; d++) {
		sqlite3_finalize(compact->insert[d]);
		sqlite3_finalize(compact->insert_many[d]);
		sqlite3_finalize(compact->raise[d]);
		sqlite3_finalize(compact->lower[d]);
		sqlite3_finalize(compact->remove[d]);
		sqlite3_finalize(compact->last_id[d]);
		map_clear(&compact->maps[d]);
		strbuf_free(&compact->pending[d].keys);
		free(compact->pending[d].rows);
		hashmap_free(&compact->maps[d].by_key);
		hashmap_free(&compact->maps[d].by_id);
		free(compact->added[d].ids);
		free(compact->released[d].ids);
	}
	map_clear(&compact->execs);
	hashmap_free(&compact->execs.by_key);
	hashmap_free(&compact->execs.by_id);
	strbuf_free(&compact->key);
	strbuf_free(&compact->split.shape);
	free(compact);
}

/* ---- schema 1 -> 2 ------------------------------------------------------------------- */

static bool has_flat_table(sqlite3 *db)
{
	sqlite3_stmt *statement = NULL;
	bool table = false;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND"
				   " name = 'DeviceProcessEvents'", -1, &statement, NULL) == SQLITE_OK)
		table = sqlite3_step(statement) == SQLITE_ROW;
	sqlite3_finalize(statement);
	return table;
}

static int copy_records(struct cache_compact *compact)
{
	struct value values[DPE_COLUMN_COUNT];
	sqlite3_stmt *statement = NULL;
	struct strbuf sql;
	int code = SQLITE_DONE, result = 0;
	size_t copied = 0;

	strbuf_init(&sql);
	strbuf_append_string(&sql, "SELECT rowid");
	for (int i = 0; i < DPE_COLUMN_COUNT; i++)
		strbuf_appendf(&sql, ", \"%s\"", dpe_columns[i].name);
	strbuf_append_string(&sql, " FROM DeviceProcessEvents ORDER BY rowid");
	result = sql.failed ? -ENOMEM
			    : cache_sqlite_errno(sqlite3_prepare_v2(compact->db, strbuf_text(&sql), -1,
								    &statement, NULL));
	strbuf_free(&sql);
	while (result == 0 && (code = sqlite3_step(statement)) == SQLITE_ROW) {
		for (int i = 0; i < DPE_COLUMN_COUNT; i++) {
			values[i] = (struct value){.type = dpe_columns[i].type};
			cache_sqlite_read_value(statement, i + 1, &values[i]);
		}
		result = add_values(compact, sqlite3_column_int64(statement, 0), values);
		/* the new dictionary rows are written every batch, not all at the end */
		if (result == 0 && ++copied % CONVERT_BATCH == 0)
			result = cache_compact_flush(compact);
	}
	if (result == 0 && code != SQLITE_DONE)
		result = cache_sqlite_errno(code);
	sqlite3_finalize(statement);
	return result;
}

bool cache_compact_has_flat_table(struct cache_compact *compact)
{
	return has_flat_table(compact->db);
}

/* A schema-1 file: every record moves to Events, the view takes the name. */
int cache_compact_convert_records(struct cache_compact *compact)
{
	struct strbuf view;
	int result = copy_records(compact);

	if (result == 0)
		result = cache_compact_flush(compact);
	if (result == 0)
		result = cache_sqlite_execute(compact->db, "DROP TABLE DeviceProcessEvents");
	strbuf_init(&view);
	cache_layout_view_sql(&view);
	if (result == 0)
		result = view.failed ? -ENOMEM : cache_sqlite_execute(compact->db, strbuf_text(&view));
	strbuf_free(&view);
	return result;
}

/*
 * An older file's dictionaries, as the layout has them now: add, the
 * fields the layout added since (before the tables' statements and the
 * view use them); !add, the columns it no longer has (once the old view,
 * which reads them, is gone).
 */
static int alter_dictionaries(sqlite3 *db, bool add)
{
	struct strbuf query, alter;
	int result = 0;

	strbuf_init(&query);
	strbuf_init(&alter);
	for (int d = 0; d < LAYOUT_DICTIONARY_COUNT && result == 0; d++) {
		const struct layout_dictionary_def *def = &layout_dictionaries[d];
		sqlite3_stmt *statement = NULL;
		int code;

		strbuf_clear(&query);
		strbuf_append_string(&query, add ? "SELECT column1 FROM (VALUES ('Refs')"
						 : "SELECT name FROM pragma_table_info(?1) WHERE name"
						   " NOT IN ('Id', 'Refs'");
		for (size_t i = 0; i < def->field_count; i++)
			strbuf_appendf(&query, add ? ", ('%s')" : ", '%s'", def->fields[i]);
		strbuf_append_string(&query, add ? ") WHERE column1 NOT IN (SELECT name FROM"
						   " pragma_table_info(?1)) AND EXISTS (SELECT 1"
						   " FROM pragma_table_info(?1))"
						 : ")");
		code = query.failed ? SQLITE_NOMEM
				    : sqlite3_prepare_v2(db, strbuf_text(&query), -1, &statement, NULL);
		if (code == SQLITE_OK)
			code = sqlite3_bind_text(statement, 1, def->table, -1, SQLITE_STATIC);
		while (code == SQLITE_OK && (code = sqlite3_step(statement)) == SQLITE_ROW) {
			strbuf_appendf(&alter, "ALTER TABLE %s %s COLUMN %s;\n", def->table,
				       add ? "ADD" : "DROP", (const char *)sqlite3_column_text(statement, 0));
			code = SQLITE_OK;
		}
		sqlite3_finalize(statement);
		result = code == SQLITE_DONE ? 0 : cache_sqlite_errno(code);
	}
	if (result == 0 && alter.length)
		result = alter.failed ? -ENOMEM : cache_sqlite_execute(db, strbuf_text(&alter));
	strbuf_free(&query);
	strbuf_free(&alter);
	return result;
}

/*
 * Before the schema's tables are made (in that transaction): an older
 * compact file's Events moves aside to Events_v3, its Processes to
 * Processes_v5 and its EventExtras (schema 5) to EventExtras_v5, the
 * file's view (and its index, in schema 2) going with them, so the new
 * tables can be made (the new rows' Ids would meet the old ones'); its
 * dictionaries get the fields added since (schema 5: Files' and
 * Contexts' FactsRef); cache_compact_convert then moves its records.
 * Nothing to move for a new file, a schema-1 file, a current one, or one
 * already set aside.
 */
int cache_compact_set_aside(sqlite3 *db)
{
	/* Events' columns, whether it has the session's, whether set aside,
	 * whether Files has the file's facts, whether Events has the links'
	 * trigger (schema 6), whether there is an EventExtras (schema 5) */
	int64_t facts[6] = {0};
	int result = cache_sqlite_errno(cache_sqlite_read_numbers(
		db, "SELECT (SELECT count(*) FROM pragma_table_info('" CACHE_LAYOUT_EVENTS_TABLE "')),"
		    " (SELECT count(*) FROM pragma_table_info('" CACHE_LAYOUT_EVENTS_TABLE "')"
		    " WHERE name = 'SessionRef'),"
		    " (SELECT count(*) FROM sqlite_master WHERE name = '" EVENTS_ASIDE "'),"
		    " (SELECT count(*) FROM pragma_table_info('Files') WHERE name = 'FactsRef'),"
		    " (SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = '"
		    CACHE_LAYOUT_LINK_TRIGGER_NAME "'),"
		    " (SELECT count(*) FROM sqlite_master WHERE name = '" CACHE_LAYOUT_EXTRAS_TABLE "')",
		facts, 6));
	bool aside = result == 0 && facts[0] && !(facts[1] && facts[3] && facts[4]) && !facts[2];

	if (aside)
		result = cache_sqlite_execute(db, "ALTER TABLE " CACHE_LAYOUT_EVENTS_TABLE
						  " RENAME TO " EVENTS_ASIDE "; ALTER TABLE "
						  "Processes RENAME TO " PROCESSES_ASIDE);
	if (result == 0 && aside && facts[5])
		result = cache_sqlite_execute(db, "ALTER TABLE " CACHE_LAYOUT_EXTRAS_TABLE
						  " RENAME TO " EXTRAS_ASIDE);
	return result ? result : alter_dictionaries(db, true);
}

bool cache_compact_is_set_aside(struct cache_compact *compact)
{
	return cache_sqlite_number(compact->db, "SELECT count(*) FROM sqlite_master WHERE name = '"
						EVENTS_ASIDE "'") > 0;
}

/*
 * A schema-2, -3 or -4 file: every record is read through the file's view
 * and written again (new dictionary rows, all with Ids above the old ones),
 * then the old Events, the old view, the old dictionary rows and the
 * columns the layout no longer has go.
 */
int cache_compact_convert_set_aside(struct cache_compact *compact)
{
	int64_t old_last[LAYOUT_DICTIONARY_COUNT] = {0};
	struct strbuf sql;
	int result = 0;

	for (int d = 0; d < LAYOUT_DICTIONARY_COUNT && result == 0; d++)
		result = first_new_id(compact, (enum layout_dictionary)d, &old_last[d]);
	if (result == 0)
		result = copy_records(compact);
	if (result == 0)
		result = cache_compact_flush(compact);
	/* the old Events takes its triggers with it: the layout's are made again */
	if (result == 0)
		result = cache_sqlite_execute(compact->db, "DROP VIEW DeviceProcessEvents;"
							   " DROP TABLE " EVENTS_ASIDE ";"
							   " DROP TABLE " PROCESSES_ASIDE ";"
							   " DROP TABLE IF EXISTS " EXTRAS_ASIDE ";");
	strbuf_init(&sql);
	cache_layout_triggers_sql(&sql);
	if (result == 0)
		result = sql.failed ? -ENOMEM : cache_sqlite_execute(compact->db, strbuf_text(&sql));
	strbuf_clear(&sql);
	for (int d = 0; d < LAYOUT_DICTIONARY_COUNT; d++)
		strbuf_appendf(&sql, "DELETE FROM %s WHERE Id < %lld;\n",
			       layout_dictionaries[d].table, (long long)old_last[d]);
	if (result == 0)
		result = sql.failed ? -ENOMEM : cache_sqlite_execute(compact->db, strbuf_text(&sql));
	if (result == 0)
		result = alter_dictionaries(compact->db, false);
	strbuf_clear(&sql);
	cache_layout_view_sql(&sql);
	if (result == 0)
		result = sql.failed ? -ENOMEM : cache_sqlite_execute(compact->db, strbuf_text(&sql));
	strbuf_free(&sql);
	/* the maps name rows of this transaction only: nothing to forget */
	return result;
}

int cache_compact_transaction(struct cache_compact *compact, int (*work)(void *context),
			      void *context)
{
	int result = cache_sqlite_execute(compact->db, "BEGIN IMMEDIATE");

	if (result == 0)
		result = work(context);
	if (result == 0)
		result = cache_sqlite_execute(compact->db, "COMMIT");
	if (result) {
		cache_sqlite_execute(compact->db, "ROLLBACK");
		cache_compact_forget(compact);
	}
	return result;
}

int cache_compact_convert(struct cache_compact *compact)
{
	int64_t version = 0;
	char sql[96];
	int result = cache_sqlite_errno(cache_sqlite_read_numbers(
		compact->db, "SELECT Value FROM CacheMeta WHERE Key = 'schema_version'", &version, 1));

	if (result || version >= CACHE_SCHEMA_VERSION)
		return result;
	/* schema 1 has the flat table; schemas 2 to 4 were set aside */
	result = has_flat_table(compact->db) ? cache_compact_convert_records(compact)
					     : cache_compact_convert_set_aside(compact);
	snprintf(sql, sizeof(sql), "UPDATE CacheMeta SET Value = %d WHERE Key = 'schema_version'",
		 CACHE_SCHEMA_VERSION);
	if (result == 0)
		result = cache_sqlite_execute(compact->db, sql);
	return result;
}
