/*
 * admin.h - the collector's administrator commands (devices list, revoke,
 * allow) on its store.
 */
#ifndef RMMHUNT_COLLECTOR_ADMIN_H
#define RMMHUNT_COLLECTOR_ADMIN_H

/* argv[0] is "devices".  Returns the exit status. */
int admin_devices(int argc, char **argv);

#endif
