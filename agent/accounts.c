/*
 * accounts.c - uid -> user name cache over getpwuid_r.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "base/hashmap.h"

struct account {
	uint32_t uid;
	char name[];
};

struct accounts {
	struct hashmap by_uid;
	uint32_t max_entries;
};

static uint64_t uid_hash_key(const void *key)
{
	return hashmap_mix64(*(const uint32_t *)key);
}

static uint64_t uid_hash_entry(const void *entry)
{
	return hashmap_mix64(((const struct account *)entry)->uid);
}

static bool uid_entry_has_key(const void *entry, const void *key)
{
	return ((const struct account *)entry)->uid == *(const uint32_t *)key;
}

static const struct hashmap_type uid_map_type = {
	.hash_key = uid_hash_key,
	.hash_entry = uid_hash_entry,
	.entry_has_key = uid_entry_has_key,
};

int accounts_create(struct accounts **out, uint32_t max_entries)
{
	struct accounts *accounts = calloc(1, sizeof(*accounts));

	if (!accounts)
		return -ENOMEM;
	hashmap_init(&accounts->by_uid, &uid_map_type);
	accounts->max_entries = max_entries ? max_entries : 1;
	*out = accounts;
	return 0;
}

static void forget_all(struct accounts *accounts)
{
	void *entry;

	for (size_t position = 0;
	     hashmap_next(&accounts->by_uid, &position, &entry);)
		free(entry);
	hashmap_free(&accounts->by_uid);
}

void accounts_destroy(struct accounts *accounts)
{
	if (!accounts)
		return;
	forget_all(accounts);
	free(accounts);
}

static void look_up(uint32_t uid, char *name, size_t size)
{
	struct passwd entry, *found = NULL;
	char buffer[4096];

	if (getpwuid_r(uid, &entry, buffer, sizeof(buffer), &found) == 0 &&
	    found && found->pw_name)
		snprintf(name, size, "%s", found->pw_name);
	else
		snprintf(name, size, "%u", uid);
}

const char *accounts_user_name(struct accounts *accounts, uint32_t uid)
{
	struct account *account = hashmap_get(&accounts->by_uid, &uid);
	char name[256];
	size_t length;

	if (account)
		return account->name;
	look_up(uid, name, sizeof(name));
	if (accounts->by_uid.count >= accounts->max_entries)
		forget_all(accounts);
	length = strlen(name);
	account = malloc(sizeof(*account) + length + 1);
	if (!account)
		return "";
	account->uid = uid;
	memcpy(account->name, name, length + 1);
	if (hashmap_insert(&accounts->by_uid, account) != 0) {
		free(account);
		return "";
	}
	return account->name;
}
