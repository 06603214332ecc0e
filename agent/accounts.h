/*
 * accounts.h - user names for uids, through NSS, cached.
 *
 * A name lookup can be slow (LDAP, SSSD); the agent asks once per uid and
 * remembers the answer, including "no such user" (then the name is the
 * number, as ls shows it).  The cache is bounded; when full it starts over.
 */
#ifndef RMMHUNT_AGENT_ACCOUNTS_H
#define RMMHUNT_AGENT_ACCOUNTS_H

#include <stdint.h>

struct accounts;

int accounts_create(struct accounts **out, uint32_t max_entries);
void accounts_destroy(struct accounts *accounts);

/* The name of uid; the pointer stays valid until the next call. */
const char *accounts_user_name(struct accounts *accounts, uint32_t uid);

#endif
