/*
 * pe_resource.h - finding the resources of one type in a PE resource tree.
 *
 * The tree has three levels: type -> name -> language.  Each directory is a
 * 16-byte header (named and numbered entry counts) followed by 8-byte
 * entries; an entry's high bit says it points to a subdirectory, whose
 * offset is relative to the tree's root; a language entry points to a
 * 16-byte data entry whose first field is the data's RVA.
 *
 * The walk is iterative and bounded: a directory is read at most once (a
 * tree that loops, or shares a directory between names, is cut there and
 * flagged), at most PE_RESOURCE_MAX_ENTRIES entries of a directory are
 * looked at and at most PE_RESOURCE_MAX_LEAVES leaves are kept.  Every
 * structure must lie inside the file; what does not is skipped and flagged.
 */
#ifndef RMMHUNT_PE_RESOURCE_H
#define RMMHUNT_PE_RESOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/parse_error.h"
#include "binident/pe_image.h"

#define PE_RESOURCE_TYPE_VERSION 16
#define PE_RESOURCE_MAX_ENTRIES 4096
#define PE_RESOURCE_MAX_LEAVES 1024

/* Walk anomalies (a subset of the PE_ANOMALY_* bits of pe_version.h). */
#define PE_RESOURCE_ANOMALY_OUT_OF_BOUNDS (1u << 20)
#define PE_RESOURCE_ANOMALY_LOOP (1u << 21)
#define PE_RESOURCE_ANOMALY_LIMIT (1u << 22)
#define PE_RESOURCE_ANOMALY_SHAPE (1u << 23)

struct pe_resource_leaf {
	uint32_t name;        /* the name's ID, or its string's offset if named */
	bool named;           /* the name is a string, not an ID */
	uint16_t language;    /* the language entry's ID (a LANGID) */
	uint32_t data_rva;    /* from the data entry */
	uint32_t data_size;
	uint32_t code_page;
};

struct pe_resource_list {
	struct pe_resource_leaf *leaves;  /* in directory order; malloc'd */
	size_t count;
	uint32_t anomalies;               /* PE_RESOURCE_ANOMALY_* */
};

/*
 * Collect every leaf under resource type type_id (an ID, not a name).  A file
 * without resources, or without that type, gives an empty list and 0.
 * Returns 0, or -ENOMEM / -errno from reading (error says why); a tree that
 * is damaged is not an error: what can be read is returned, the damage is in
 * list->anomalies.  Free with pe_resource_list_free().
 */
int pe_resource_find(const struct pe_image *image, uint16_t type_id,
		     struct pe_resource_list *list, struct parse_error *error);

void pe_resource_list_free(struct pe_resource_list *list);

#endif
