/*
 * record_fragments.c - the bounded store of record fragments (see the
 * header): two direct-mapped tables of slots, one per kind of run.
 */
#include <errno.h>
#include <stdlib.h>

#include "pending_exec.h"
#include "record_fragments.h"

#define FRAGMENT_SLOTS 256
/* A run longer than this is serialised with its record (long paths). */
#define FRAGMENT_MAX_JSON ((size_t)4096)

struct record_fragments {
	struct record_fragment files[FRAGMENT_SLOTS]; /* FileName..version info */
	struct record_fragment snapshots[FRAGMENT_SLOTS]; /* the initiating process */
	struct record_fragments_stats stats;
};

int record_fragments_create(struct record_fragments **out)
{
	struct record_fragments *fragments = calloc(1, sizeof(*fragments));

	if (!fragments)
		return -ENOMEM;
	for (int i = 0; i < FRAGMENT_SLOTS; i++) {
		record_fragment_init(&fragments->files[i], DPE_FILE_NAME,
				     DPE_PROCESS_VERSION_INFO_FILE_DESCRIPTION);
		record_fragment_init(&fragments->snapshots[i],
				     DPE_INITIATING_PROCESS_ACCOUNT_DOMAIN,
				     DPE_INITIATING_PROCESS_SIGNATURE_STATUS);
	}
	*out = fragments;
	return 0;
}

void record_fragments_destroy(struct record_fragments *fragments)
{
	if (!fragments)
		return;
	for (int i = 0; i < FRAGMENT_SLOTS; i++) {
		record_fragment_free(&fragments->files[i]);
		record_fragment_free(&fragments->snapshots[i]);
	}
	free(fragments);
}

/* A slot for key (64-bit mix: entries' addresses and pids are not spread). */
static unsigned slot_of(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (unsigned)(key % FRAGMENT_SLOTS);
}

static void use(struct record_fragments *fragments, struct record *record,
		struct record_fragment *fragment)
{
	int result = record_use_fragment(record, fragment, FRAGMENT_MAX_JSON);

	if (result == 1)
		fragments->stats.reused++;
	else if (result == 0)
		fragments->stats.made++;
	else
		fragments->stats.not_kept++;
}

void record_fragments_apply(struct record_fragments *fragments, struct record *record,
			    const struct pending_exec *pending)
{
	const struct image *image = pending->process.image;
	const struct process_ref *initiating = &pending->initiating;

	if (image && image->file)
		use(fragments, record,
		    &fragments->files[slot_of((uint64_t)(uintptr_t)image->file)]);
	if (initiating->known && initiating->image)
		use(fragments, record,
		    &fragments->snapshots[slot_of(initiating->start_boot_ns * 31 +
						  initiating->pid)]);
}

void record_fragments_read_stats(const struct record_fragments *fragments,
				 struct record_fragments_stats *stats)
{
	*stats = fragments->stats;
}
