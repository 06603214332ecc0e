/*
 * version.h - the version of rmmhunt's programs (agent, collector, CLI),
 * as they report it: `--version`, the agent's enrollment and heartbeats.
 */
#ifndef RMMHUNT_BASE_VERSION_H
#define RMMHUNT_BASE_VERSION_H

#define RMMHUNT_VERSION "0.3.0"

#endif
